;; Gradient of clipByValue (every ReLU6): out = lo <= x <= hi ? dy : +0, float32, 128-bit SIMD;
;; with `strict` = 1 the lower bound is exclusive (lo < x <= hi: tfjs-layers' ReLU(maxValue), whose
;; relu step gives 0 at x = 0).
;; Source of the bytes in `modules.ts`. Branch-free: dy's bits AND-ed with the comparison masks,
;; so the values are exactly tfjs-core's gradient (`where(x >= lo && x <= hi, dy, 0)`; a NaN x
;; compares false and gives +0).
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "clipByValueGrad")
    (param $dy i32) (param $x i32) (param $out i32) (param $n i32) (param $lo f32) (param $hi f32) (param $strict i32)
    (local $k i32) (local $sel v128) (local $nb i32) (local $nv i32) (local $xv v128) (local $lov v128) (local $hiv v128) (local $xs f32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $nv (i32.and (local.get $nb) (i32.const -16)))
    (local.set $lov (f32x4.splat (local.get $lo)))
    (local.set $hiv (f32x4.splat (local.get $hi)))
    (local.set $sel (i32x4.splat (i32.sub (i32.const 0) (i32.ne (local.get $strict) (i32.const 0)))))
    (local.set $k (i32.const 0))
    (block $vdone (loop $vloop
      (br_if $vdone (i32.ge_u (local.get $k) (local.get $nv)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $k))))
      (v128.store (i32.add (local.get $out) (local.get $k))
        (v128.and (v128.load (i32.add (local.get $dy) (local.get $k)))
          (v128.and
            (v128.bitselect (f32x4.gt (local.get $xv) (local.get $lov)) (f32x4.ge (local.get $xv) (local.get $lov)) (local.get $sel))
            (f32x4.le (local.get $xv) (local.get $hiv)))))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $vloop)))
    (block $sdone (loop $sloop
      (br_if $sdone (i32.ge_u (local.get $k) (local.get $nb)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $k))))
      (i32.store (i32.add (local.get $out) (local.get $k))
        (i32.and (i32.load (i32.add (local.get $dy) (local.get $k)))
          (i32.sub (i32.const 0)
            (i32.and
              (select (f32.gt (local.get $xs) (local.get $lo)) (f32.ge (local.get $xs) (local.get $lo)) (local.get $strict))
              (f32.le (local.get $xs) (local.get $hi))))))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $sloop)))
  )
)
