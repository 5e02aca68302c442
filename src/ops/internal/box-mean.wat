;; The running box mean along z of a uint8 volume stored as uint8, sixteen voxels a step (see
;; box-mean.ts).
;;
;; step_u8(acc, last, first, out, n, size): for i in [0, n) step 16, with acc[i] an i32 holding the
;; sum of the window's first size − 1 slices,
;;   s = acc[i] + last[i];  out[i] = trunc(s / size);  acc[i] = s − first[i]
;; The quotient is taken in float32: s ≤ 255 · size is exact there, and for size < 65536 the
;; rounded quotient never reaches the next integer, so truncating it gives the integer quotient,
;; as the float64 division and the cast do. n is rounded up to 16: the caller leaves room.
(module
  (import "env" "memory" (memory 1))
  (func (export "step_u8") (param $acc i32) (param $last i32) (param $first i32) (param $out i32) (param $n i32) (param $size i32)
    (local $i i32) (local $a i32) (local $k v128) (local $in v128) (local $old v128) (local $lo v128) (local $hi v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $k (f32x4.splat (f32.convert_i32_u (local.get $size))))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $in (v128.load (i32.add (local.get $last) (local.get $i))))
        (local.set $old (v128.load (i32.add (local.get $first) (local.get $i))))
        ;; s = acc + last, sixteen i32 in four vectors
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $in)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $in)))
        (local.set $s0 (i32x4.add (v128.load (local.get $a)) (i32x4.extend_low_i16x8_u (local.get $lo))))
        (local.set $s1 (i32x4.add (v128.load offset=16 (local.get $a)) (i32x4.extend_high_i16x8_u (local.get $lo))))
        (local.set $s2 (i32x4.add (v128.load offset=32 (local.get $a)) (i32x4.extend_low_i16x8_u (local.get $hi))))
        (local.set $s3 (i32x4.add (v128.load offset=48 (local.get $a)) (i32x4.extend_high_i16x8_u (local.get $hi))))
        ;; out = trunc(s / size), narrowed to bytes
        (v128.store (i32.add (local.get $out) (local.get $i))
          (i8x16.narrow_i16x8_u
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s0)) (local.get $k)))
              (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s1)) (local.get $k))))
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s2)) (local.get $k)))
              (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s3)) (local.get $k))))))
        ;; acc = s − first
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $old)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $old)))
        (v128.store (local.get $a) (i32x4.sub (local.get $s0) (i32x4.extend_low_i16x8_u (local.get $lo))))
        (v128.store offset=16 (local.get $a) (i32x4.sub (local.get $s1) (i32x4.extend_high_i16x8_u (local.get $lo))))
        (v128.store offset=32 (local.get $a) (i32x4.sub (local.get $s2) (i32x4.extend_low_i16x8_u (local.get $hi))))
        (v128.store offset=48 (local.get $a) (i32x4.sub (local.get $s3) (i32x4.extend_high_i16x8_u (local.get $hi))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $voxels)))))
