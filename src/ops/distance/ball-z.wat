;; The z phase of ball dilation over a uint8 mask, sixteen voxels a step (see ball-z.ts).
;;
;; dilate_u8(out, n, count, offs, prev, cap): for i in [0, n) step 16, with s_k the mask slice at
;; byte address offs[k] (slice z + k, k = 0 … count − 1) and prev[i] the distance in slices to the
;; last foreground voxel of the column at or before z − 1 (capped at cap):
;;   prev[i] = s_0[i] ≠ 0 ? 0 : min(prev[i] + 1, cap)
;;   out[i]  = min(prev[i], the least k ≥ 1 with s_k[i] ≠ 0, cap)
;; cap ≤ 255. n is rounded up to 16: the caller leaves room.
(module
  (import "env" "memory" (memory 1))
  (func (export "dilate_u8") (param $out i32) (param $n i32) (param $count i32) (param $offs i32) (param $prev i32) (param $cap i32)
    (local $i i32) (local $k i32) (local $c v128) (local $p v128) (local $a v128)
    (local.set $c (i8x16.splat (local.get $cap)))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; the distance to the last foreground voxel at or before z
        (local.set $p (v128.andnot
          (i8x16.min_u (i8x16.add_sat_u (v128.load (i32.add (local.get $prev) (local.get $i))) (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)) (local.get $c))
          (i8x16.ne (v128.load (i32.add (i32.load (local.get $offs)) (local.get $i))) (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))
        (v128.store (i32.add (local.get $prev) (local.get $i)) (local.get $p))
        ;; the first foreground voxel after z: the slices from the farthest to the nearest
        (local.set $a (local.get $c))
        (local.set $k (i32.sub (local.get $count) (i32.const 1)))
        (block $ahead
          (loop $slices
            (br_if $ahead (i32.lt_s (local.get $k) (i32.const 1)))
            (local.set $a (v128.bitselect
              (i8x16.splat (local.get $k))
              (local.get $a)
              (i8x16.ne
                (v128.load (i32.add (i32.load (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 2)))) (local.get $i)))
                (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $slices)))
        (v128.store (i32.add (local.get $out) (local.get $i)) (i8x16.min_u (local.get $p) (local.get $a)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $voxels)))))
