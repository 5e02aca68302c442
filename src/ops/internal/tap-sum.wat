;; Symmetric tap sums over uint8 (sum_u8), uint16 (sum_u16) and float32 (sum_f32) lines, stored
;; in the same dtype, eight voxels a step (see wasm-taps.ts).
;;
;; sum_u8(out, n, pairs, offs, weights): for i in [0, n) step 8,
;;   out[i] = cast(x_c * w_c + (x_a1 + x_b1) * w_1 + … + (x_ak + x_bk) * w_k), summed left to right
;; where x_t is voxel i of the line at byte address offs[t]; offs holds pairs * 2 + 1 i32 byte
;; addresses (the centre, then each pair), weights pairs + 1 f64 (the centre's, then each pair's).
;; Pair sums are exact in 16-bit (uint8) or 32-bit (uint16) integers, so converting them once gives
;; the float64 that x_a + x_b gives. The cast truncates toward zero and saturates to the dtype's
;; range, NaN to 0. float32 voxels are promoted to float64 before any sum, as the JavaScript loop
;; reads them, and the result rounded to the nearest float32, as its store does. n is rounded up
;; to 8: the caller leaves room.
(module
  (import "env" "memory" (memory 1))
  (func (export "sum_u8") (param $out i32) (param $n i32) (param $pairs i32) (param $offs i32) (param $weights i32)
    (local $i i32) (local $k i32) (local $at i32) (local $p v128) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; the centre
        (local.set $p (i16x8.extend_low_i8x16_u
          (v128.load64_zero (i32.add (i32.load (local.get $offs)) (local.get $i)))))
        (local.set $w (f64x2.splat (f64.load (local.get $weights))))
        (local.set $a0 (f64x2.mul (f64x2.convert_low_i32x4_u (i32x4.extend_low_i16x8_u (local.get $p))) (local.get $w)))
        (local.set $a1 (f64x2.mul (f64x2.convert_low_i32x4_u
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (i32x4.extend_low_i16x8_u (local.get $p)) (i32x4.extend_low_i16x8_u (local.get $p)))) (local.get $w)))
        (local.set $a2 (f64x2.mul (f64x2.convert_low_i32x4_u (i32x4.extend_high_i16x8_u (local.get $p))) (local.get $w)))
        (local.set $a3 (f64x2.mul (f64x2.convert_low_i32x4_u
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (i32x4.extend_high_i16x8_u (local.get $p)) (i32x4.extend_high_i16x8_u (local.get $p)))) (local.get $w)))
        ;; the pairs, in the order given
        (local.set $k (i32.const 0))
        (block $paired
          (loop $pair
            (br_if $paired (i32.ge_u (local.get $k) (local.get $pairs)))
            (local.set $at (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $p (i16x8.add
              (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (i32.load offset=4 (local.get $at)) (local.get $i))))
              (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (i32.load offset=8 (local.get $at)) (local.get $i))))))
            (local.set $w (f64x2.splat (f64.load offset=8 (i32.add (local.get $weights) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.convert_low_i32x4_u (i32x4.extend_low_i16x8_u (local.get $p))) (local.get $w))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
                (i32x4.extend_low_i16x8_u (local.get $p)) (i32x4.extend_low_i16x8_u (local.get $p)))) (local.get $w))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (f64x2.convert_low_i32x4_u (i32x4.extend_high_i16x8_u (local.get $p))) (local.get $w))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
                (i32x4.extend_high_i16x8_u (local.get $p)) (i32x4.extend_high_i16x8_u (local.get $p)))) (local.get $w))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $pair)))
        ;; truncate, saturate to [0, 255], narrow to bytes, store eight
        (local.set $p (i16x8.narrow_i32x4_u
          (i32x4.min_s (i32x4.max_s
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (i32x4.trunc_sat_f64x2_s_zero (local.get $a0)) (i32x4.trunc_sat_f64x2_s_zero (local.get $a1)))
            (v128.const i32x4 0 0 0 0)) (v128.const i32x4 255 255 255 255))
          (i32x4.min_s (i32x4.max_s
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (i32x4.trunc_sat_f64x2_s_zero (local.get $a2)) (i32x4.trunc_sat_f64x2_s_zero (local.get $a3)))
            (v128.const i32x4 0 0 0 0)) (v128.const i32x4 255 255 255 255))))
        (v128.store64_lane 0 (i32.add (local.get $out) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $p) (local.get $p)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $voxels))))
  (func (export "sum_u16") (param $out i32) (param $n i32) (param $pairs i32) (param $offs i32) (param $weights i32)
    (local $i i32) (local $k i32) (local $at i32) (local $lo v128) (local $hi v128) (local $v v128) (local $u v128) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; the centre: eight uint16 as two i32x4
        (local.set $v (v128.load (i32.add (i32.load (local.get $offs)) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $lo (i32x4.extend_low_i16x8_u (local.get $v)))
        (local.set $hi (i32x4.extend_high_i16x8_u (local.get $v)))
        (local.set $w (f64x2.splat (f64.load (local.get $weights))))
        (local.set $a0 (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $lo)) (local.get $w)))
        (local.set $a1 (f64x2.mul (f64x2.convert_low_i32x4_u
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))) (local.get $w)))
        (local.set $a2 (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $hi)) (local.get $w)))
        (local.set $a3 (f64x2.mul (f64x2.convert_low_i32x4_u
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))) (local.get $w)))
        ;; the pairs, in the order given, summed in i32
        (local.set $k (i32.const 0))
        (block $paired
          (loop $pair
            (br_if $paired (i32.ge_u (local.get $k) (local.get $pairs)))
            (local.set $at (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $v (v128.load (i32.add (i32.load offset=4 (local.get $at)) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $u (v128.load (i32.add (i32.load offset=8 (local.get $at)) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $lo (i32x4.add (i32x4.extend_low_i16x8_u (local.get $v)) (i32x4.extend_low_i16x8_u (local.get $u))))
            (local.set $hi (i32x4.add (i32x4.extend_high_i16x8_u (local.get $v)) (i32x4.extend_high_i16x8_u (local.get $u))))
            (local.set $w (f64x2.splat (f64.load offset=8 (i32.add (local.get $weights) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $lo)) (local.get $w))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))) (local.get $w))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $hi)) (local.get $w))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))) (local.get $w))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $pair)))
        ;; truncate, narrow with saturation to [0, 65535], store eight
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1)))
          (i16x8.narrow_i32x4_u
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (i32x4.trunc_sat_f64x2_s_zero (local.get $a0)) (i32x4.trunc_sat_f64x2_s_zero (local.get $a1)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (i32x4.trunc_sat_f64x2_s_zero (local.get $a2)) (i32x4.trunc_sat_f64x2_s_zero (local.get $a3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $voxels))))
  (func (export "sum_f32") (param $out i32) (param $n i32) (param $pairs i32) (param $offs i32) (param $weights i32)
    (local $i i32) (local $k i32) (local $at i32) (local $lo v128) (local $hi v128) (local $u v128) (local $v v128) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; the centre: eight float32 as two f32x4, promoted in pairs
        (local.set $lo (v128.load (i32.add (i32.load (local.get $offs)) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $hi (v128.load offset=16 (i32.add (i32.load (local.get $offs)) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $w (f64x2.splat (f64.load (local.get $weights))))
        (local.set $a0 (f64x2.mul (f64x2.promote_low_f32x4 (local.get $lo)) (local.get $w)))
        (local.set $a1 (f64x2.mul (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))) (local.get $w)))
        (local.set $a2 (f64x2.mul (f64x2.promote_low_f32x4 (local.get $hi)) (local.get $w)))
        (local.set $a3 (f64x2.mul (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))) (local.get $w)))
        ;; the pairs, in the order given, each pair summed in float64
        (local.set $k (i32.const 0))
        (block $paired
          (loop $pair
            (br_if $paired (i32.ge_u (local.get $k) (local.get $pairs)))
            (local.set $at (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $w (f64x2.splat (f64.load offset=8 (i32.add (local.get $weights) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $u (v128.load (i32.add (i32.load offset=4 (local.get $at)) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $v (v128.load (i32.add (i32.load offset=8 (local.get $at)) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $u)) (f64x2.promote_low_f32x4 (local.get $v))) (local.get $w))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul
              (f64x2.add
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $u) (local.get $u)))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
              (local.get $w))))
            (local.set $u (v128.load offset=16 (i32.add (i32.load offset=4 (local.get $at)) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $v (v128.load offset=16 (i32.add (i32.load offset=8 (local.get $at)) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $u)) (f64x2.promote_low_f32x4 (local.get $v))) (local.get $w))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul
              (f64x2.add
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $u) (local.get $u)))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
              (local.get $w))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $pair)))
        ;; round to float32, store eight
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (local.get $a0)) (f32x4.demote_f64x2_zero (local.get $a1))))
        (v128.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (local.get $a2)) (f32x4.demote_f64x2_zero (local.get $a3))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $voxels)))))
