;; Depthwise convolution input gradient (channel multiplier 1, no dilation), NHWC, float32,
;; 128-bit SIMD. Source of the bytes in `modules.ts`.
;;
;;   dx[n, ih, iw, c] = sum over taps (i, j) with oh = (ih + pt - i) / sh and ow = (iw + pl - j) / sw
;;                      integral and in range, of dy[n, oh, ow, c] * f[i, j, c]
;;
;; Gathered per input pixel: its row of C gradients stays in L1 while the (at most kh*kw) taps
;; that reach it are added, four channels per instruction; dx is written once. Why not XNNPACK:
;; its form needs dy zero-dilated and re-padded (a full copy, 4x larger at stride 2) and a
;; flipped filter before the convolution.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "dwInputGrad")
    (param $dy i32) (param $f i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $ho i32) (param $wo i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $ih i32) (local $iw i32) (local $i i32) (local $j i32) (local $t i32) (local $u i32)
    (local $cb i32) (local $cv i32) (local $k i32) (local $op i32) (local $dyrow i32) (local $dyp i32) (local $fp i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $op (local.get $dx))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $ih (i32.const 0))
      (block $ihdone (loop $ihloop
        (br_if $ihdone (i32.ge_u (local.get $ih) (local.get $h)))
        (local.set $iw (i32.const 0))
        (block $iwdone (loop $iwloop
          (br_if $iwdone (i32.ge_u (local.get $iw) (local.get $w)))
          ;; zero this pixel's row of C
          (local.set $k (i32.const 0))
          (block $zdone (loop $zloop
            (br_if $zdone (i32.ge_u (local.get $k) (local.get $cv)))
            (v128.store (i32.add (local.get $op) (local.get $k)) (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $zloop)))
          (block $zsdone (loop $zsloop
            (br_if $zsdone (i32.ge_u (local.get $k) (local.get $cb)))
            (f32.store (i32.add (local.get $op) (local.get $k)) (f32.const 0))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $zsloop)))
          (local.set $i (i32.const 0))
          (block $idone (loop $iloop
            (br_if $idone (i32.ge_s (local.get $i) (local.get $kh)))
            (local.set $t (i32.sub (i32.add (local.get $ih) (local.get $pt)) (local.get $i)))
            (br_if $idone (i32.lt_s (local.get $t) (i32.const 0)))
            (if (i32.and
                  (i32.eqz (i32.rem_s (local.get $t) (local.get $sh)))
                  (i32.lt_s (i32.div_s (local.get $t) (local.get $sh)) (local.get $ho)))
              (then
                (local.set $dyrow (i32.add (local.get $dy)
                  (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ho)) (i32.div_s (local.get $t) (local.get $sh))) (local.get $wo)) (local.get $cb))))
                (local.set $j (i32.const 0))
                (block $jdone (loop $jloop
                  (br_if $jdone (i32.ge_s (local.get $j) (local.get $kw)))
                  (local.set $u (i32.sub (i32.add (local.get $iw) (local.get $pl)) (local.get $j)))
                  (br_if $jdone (i32.lt_s (local.get $u) (i32.const 0)))
                  (if (i32.and
                        (i32.eqz (i32.rem_s (local.get $u) (local.get $sw)))
                        (i32.lt_s (i32.div_s (local.get $u) (local.get $sw)) (local.get $wo)))
                    (then
                      (local.set $dyp (i32.add (local.get $dyrow) (i32.mul (i32.div_s (local.get $u) (local.get $sw)) (local.get $cb))))
                      (local.set $fp (i32.add (local.get $f) (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $cb))))
                      (local.set $k (i32.const 0))
                      (block $vdone (loop $vloop
                        (br_if $vdone (i32.ge_u (local.get $k) (local.get $cv)))
                        (v128.store (i32.add (local.get $op) (local.get $k))
                          (f32x4.add (v128.load (i32.add (local.get $op) (local.get $k)))
                            (f32x4.mul (v128.load (i32.add (local.get $dyp) (local.get $k))) (v128.load (i32.add (local.get $fp) (local.get $k))))))
                        (local.set $k (i32.add (local.get $k) (i32.const 16)))
                        (br $vloop)))
                      (block $sdone (loop $sloop
                        (br_if $sdone (i32.ge_u (local.get $k) (local.get $cb)))
                        (f32.store (i32.add (local.get $op) (local.get $k))
                          (f32.add (f32.load (i32.add (local.get $op) (local.get $k)))
                            (f32.mul (f32.load (i32.add (local.get $dyp) (local.get $k))) (f32.load (i32.add (local.get $fp) (local.get $k))))))
                        (local.set $k (i32.add (local.get $k) (i32.const 4)))
                        (br $sloop)))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jloop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iloop)))
          (local.set $op (i32.add (local.get $op) (local.get $cb)))
          (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
          (br $iwloop)))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $ihloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )
)
