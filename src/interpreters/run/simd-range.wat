;; Range masks (simd-range.ts): for each input dtype, range(src, dst, n, lo, hi) writes at dst one
;; byte per voxel, 1 where lo <= x <= hi and 0 elsewhere, for the n voxels at byte address src,
;; sixteen voxels a step (n is rounded up to 16 by the caller, who leaves room).
;;
;; A comparison gives each lane 0 or -1 (all bits set); the two comparisons' AND is the mask. Wider
;; lanes narrow to bytes with the signed saturating narrowings, which keep 0 and -1 as they are, and
;; the AND with a vector of 1s makes the bytes 0 or 1. Integer dtypes compare as their own lanes,
;; signed or unsigned; uint32 bounds arrive as int32 bit patterns and compare unsigned. float32
;; compares as IEEE, so NaN is outside every range.
(module
  (import "env" "memory" (memory 1))
  (func (export "uint8") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i8x16.splat (local.get $lo)))
    (local.set $vhi (i8x16.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 1))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (v128.and
              (i8x16.ge_u (v128.load align=1 (local.get $at)) (local.get $vlo))
              (i8x16.le_u (v128.load align=1 (local.get $at)) (local.get $vhi)))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "int8") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i8x16.splat (local.get $lo)))
    (local.set $vhi (i8x16.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 1))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (v128.and
              (i8x16.ge_s (v128.load align=1 (local.get $at)) (local.get $vlo))
              (i8x16.le_s (v128.load align=1 (local.get $at)) (local.get $vhi)))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "uint16") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i16x8.splat (local.get $lo)))
    (local.set $vhi (i16x8.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 2))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (i8x16.narrow_i16x8_s
              (v128.and
                (i16x8.ge_u (v128.load align=1 (local.get $at)) (local.get $vlo))
                (i16x8.le_u (v128.load align=1 (local.get $at)) (local.get $vhi)))
              (v128.and
                (i16x8.ge_u (v128.load offset=16 align=1 (local.get $at)) (local.get $vlo))
                (i16x8.le_u (v128.load offset=16 align=1 (local.get $at)) (local.get $vhi))))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "int16") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i16x8.splat (local.get $lo)))
    (local.set $vhi (i16x8.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 2))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (i8x16.narrow_i16x8_s
              (v128.and
                (i16x8.ge_s (v128.load align=1 (local.get $at)) (local.get $vlo))
                (i16x8.le_s (v128.load align=1 (local.get $at)) (local.get $vhi)))
              (v128.and
                (i16x8.ge_s (v128.load offset=16 align=1 (local.get $at)) (local.get $vlo))
                (i16x8.le_s (v128.load offset=16 align=1 (local.get $at)) (local.get $vhi))))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "uint32") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i32x4.splat (local.get $lo)))
    (local.set $vhi (i32x4.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 4))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (i8x16.narrow_i16x8_s
              (i16x8.narrow_i32x4_s
                (v128.and
                  (i32x4.ge_u (v128.load align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_u (v128.load align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (i32x4.ge_u (v128.load offset=16 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_u (v128.load offset=16 align=1 (local.get $at)) (local.get $vhi))))
              (i16x8.narrow_i32x4_s
                (v128.and
                  (i32x4.ge_u (v128.load offset=32 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_u (v128.load offset=32 align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (i32x4.ge_u (v128.load offset=48 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_u (v128.load offset=48 align=1 (local.get $at)) (local.get $vhi)))))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "int32") (param $src i32) (param $dst i32) (param $n i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (i32x4.splat (local.get $lo)))
    (local.set $vhi (i32x4.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 4))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (i8x16.narrow_i16x8_s
              (i16x8.narrow_i32x4_s
                (v128.and
                  (i32x4.ge_s (v128.load align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_s (v128.load align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (i32x4.ge_s (v128.load offset=16 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_s (v128.load offset=16 align=1 (local.get $at)) (local.get $vhi))))
              (i16x8.narrow_i32x4_s
                (v128.and
                  (i32x4.ge_s (v128.load offset=32 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_s (v128.load offset=32 align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (i32x4.ge_s (v128.load offset=48 align=1 (local.get $at)) (local.get $vlo))
                  (i32x4.le_s (v128.load offset=48 align=1 (local.get $at)) (local.get $vhi)))))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))
  (func (export "float32") (param $src i32) (param $dst i32) (param $n i32) (param $lo f32) (param $hi f32)
    (local $i i32) (local $vlo v128) (local $vhi v128) (local $one v128) (local $at i32)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 4))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (v128.and
            (i8x16.narrow_i16x8_s
              (i16x8.narrow_i32x4_s
                (v128.and
                  (f32x4.ge (v128.load align=1 (local.get $at)) (local.get $vlo))
                  (f32x4.le (v128.load align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (f32x4.ge (v128.load offset=16 align=1 (local.get $at)) (local.get $vlo))
                  (f32x4.le (v128.load offset=16 align=1 (local.get $at)) (local.get $vhi))))
              (i16x8.narrow_i32x4_s
                (v128.and
                  (f32x4.ge (v128.load offset=32 align=1 (local.get $at)) (local.get $vlo))
                  (f32x4.le (v128.load offset=32 align=1 (local.get $at)) (local.get $vhi)))
                (v128.and
                  (f32x4.ge (v128.load offset=48 align=1 (local.get $at)) (local.get $vlo))
                  (f32x4.le (v128.load offset=48 align=1 (local.get $at)) (local.get $vhi)))))
            (local.get $one)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step)))))
