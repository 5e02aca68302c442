;; Box means as uniform's JavaScript loops compute them (see box-mean.ts): the running sums of
;; uint8 data stored as uint8, sixteen voxels a step, and of uint16 as uint16, eight; and float32
;; sums kept in float64, four voxels a step.
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
        (br $voxels))))

  ;; The float32 functions: acc holds float64 sums, src, a, b and out float32 voxels. Each rounds
  ;; as the JavaScript loops do: one float64 operation at a time in their order, and the mean
  ;; rounded once to float32 (to nearest, as a Float32Array store). n is rounded up to 4.

  ;; add_f32(acc, src, n): acc[i] = acc[i] + src[i]
  (func (export "add_f32") (param $acc i32) (param $src i32) (param $n i32)
    (local $i i32) (local $a i32) (local $s i32)
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $s (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (local.get $a)
          (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $s)))))
        (v128.store offset=16 (local.get $a)
          (f64x2.add (v128.load offset=16 (local.get $a)) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $s)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $voxels))))

  ;; mean_f32(acc, out, n, size): out[i] = float32(acc[i] / size)
  (func (export "mean_f32") (param $acc i32) (param $out i32) (param $n i32) (param $size i32)
    (local $i i32) (local $a i32) (local $k v128)
    (local.set $k (f64x2.splat (f64.convert_i32_u (local.get $size))))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.div (v128.load (local.get $a)) (local.get $k)))
            (f32x4.demote_f64x2_zero (f64x2.div (v128.load offset=16 (local.get $a)) (local.get $k)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $voxels))))

  ;; step_f32(acc, a, b, out, n, size): s = acc[i] + (a[i] − b[i]); acc[i] = s; out[i] = float32(s / size)
  (func (export "step_f32") (param $acc i32) (param $a i32) (param $b i32) (param $out i32) (param $n i32) (param $size i32)
    (local $i i32) (local $p i32) (local $q i32) (local $r i32) (local $k v128) (local $s0 v128) (local $s1 v128)
    (local.set $k (f64x2.splat (f64.convert_i32_u (local.get $size))))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $q (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $r (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $s0 (f64x2.add (v128.load (local.get $p))
          (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $q))) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $r))))))
        (local.set $s1 (f64x2.add (v128.load offset=16 (local.get $p))
          (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $q))) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $r))))))
        (v128.store (local.get $p) (local.get $s0))
        (v128.store offset=16 (local.get $p) (local.get $s1))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.div (local.get $s0) (local.get $k)))
            (f32x4.demote_f64x2_zero (f64x2.div (local.get $s1) (local.get $k)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $voxels))))

  ;; whole_f32(lines, count, out, n, size): out[i] = float32((0 + l0[i] + … + l(count − 1)[i]) / size),
  ;; where lines holds the count lines' byte offsets (i32)
  (func (export "whole_f32") (param $lines i32) (param $count i32) (param $out i32) (param $n i32) (param $size i32)
    (local $i i32) (local $t i32) (local $p i32) (local $k v128) (local $s0 v128) (local $s1 v128)
    (local.set $k (f64x2.splat (f64.convert_i32_u (local.get $size))))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s0 (f64x2.splat (f64.const 0)))
        (local.set $s1 (f64x2.splat (f64.const 0)))
        (local.set $t (i32.const 0))
        (loop $taps
          (local.set $p (i32.add (i32.load (i32.add (local.get $lines) (i32.shl (local.get $t) (i32.const 2)))) (i32.shl (local.get $i) (i32.const 2))))
          (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
          (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $taps (i32.lt_u (local.get $t) (local.get $count))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.div (local.get $s0) (local.get $k)))
            (f32x4.demote_f64x2_zero (f64x2.div (local.get $s1) (local.get $k)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $voxels))))

  ;; step_u16(acc, last, first, out, n, size): step_u8 for uint16 data stored as uint16, eight
  ;; voxels a step. s ≤ 65535 · size is exact in float32 for size ≤ 255, and the rounded quotient
  ;; never reaches the next integer there (65535 · 255 < 2^24).
  (func (export "step_u16") (param $acc i32) (param $last i32) (param $first i32) (param $out i32) (param $n i32) (param $size i32)
    (local $i i32) (local $a i32) (local $k v128) (local $in v128) (local $old v128) (local $s0 v128) (local $s1 v128)
    (local.set $k (f32x4.splat (f32.convert_i32_u (local.get $size))))
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $in (v128.load (i32.add (local.get $last) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $old (v128.load (i32.add (local.get $first) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $s0 (i32x4.add (v128.load (local.get $a)) (i32x4.extend_low_i16x8_u (local.get $in))))
        (local.set $s1 (i32x4.add (v128.load offset=16 (local.get $a)) (i32x4.extend_high_i16x8_u (local.get $in))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1)))
          (i16x8.narrow_i32x4_u
            (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s0)) (local.get $k)))
            (i32x4.trunc_sat_f32x4_s (f32x4.div (f32x4.convert_i32x4_s (local.get $s1)) (local.get $k)))))
        (v128.store (local.get $a) (i32x4.sub (local.get $s0) (i32x4.extend_low_i16x8_u (local.get $old))))
        (v128.store offset=16 (local.get $a) (i32x4.sub (local.get $s1) (i32x4.extend_high_i16x8_u (local.get $old))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $voxels)))))
