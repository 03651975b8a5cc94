;; Depthwise convolution filter gradient (channel multiplier 1, no dilation), NHWC, float32,
;; 128-bit SIMD. Source of the bytes in `modules.ts` (regenerate: `npx tsx scripts/build-wasm-simd.ts`).
;;
;;   dW[i, j, c] = sum over (n, oh, ow) of x[n, oh*sh + i - pt, ow*sw + j - pl, c] * dy[n, oh, ow, c]
;;
;; Works on the TF.js wasm backend's own memory (imported), so inputs are read where they lie.
;; Loop order: one pass over dy; for each output pixel its dy channel vector is multiplied into
;; the kh*kw tap rows of `out` (kh*kw*C floats: stays in L1), four channels per instruction.
;; `out` must be zeroed by the caller. Why not XNNPACK: the gradient as one depthwise convolution
;; with an Ho x Wo "filter" runs XNNPACK's multipass path at ~1/15 of the forward pass's speed.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "dwFilterGrad")
    (param $x i32) (param $dy i32) (param $out i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $ho i32) (param $wo i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $i i32) (local $j i32)
    (local $ih i32) (local $iw i32) (local $cb i32) (local $cv i32) (local $k i32)
    (local $dyp i32) (local $xrow i32) (local $xp i32) (local $ap i32) (local $arow i32)
    (local $d v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $dyp (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $oh (i32.const 0))
      (block $ohdone (loop $ohloop
        (br_if $ohdone (i32.ge_u (local.get $oh) (local.get $ho)))
        (local.set $ow (i32.const 0))
        (block $owdone (loop $owloop
          (br_if $owdone (i32.ge_u (local.get $ow) (local.get $wo)))
          (local.set $i (i32.const 0))
          (block $idone (loop $iloop
            (br_if $idone (i32.ge_s (local.get $i) (local.get $kh)))
            (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $i)) (local.get $pt)))
            (if (i32.and (i32.ge_s (local.get $ih) (i32.const 0)) (i32.lt_s (local.get $ih) (local.get $h)))
              (then
                ;; x row start for (b, ih): ((b*h + ih) * w) * cb
                (local.set $xrow (i32.add (local.get $x)
                  (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $ih)) (local.get $w)) (local.get $cb))))
                (local.set $arow (i32.add (local.get $out) (i32.mul (i32.mul (local.get $i) (local.get $kw)) (local.get $cb))))
                (local.set $j (i32.const 0))
                (block $jdone (loop $jloop
                  (br_if $jdone (i32.ge_s (local.get $j) (local.get $kw)))
                  (local.set $iw (i32.sub (i32.add (i32.mul (local.get $ow) (local.get $sw)) (local.get $j)) (local.get $pl)))
                  (if (i32.and (i32.ge_s (local.get $iw) (i32.const 0)) (i32.lt_s (local.get $iw) (local.get $w)))
                    (then
                      (local.set $xp (i32.add (local.get $xrow) (i32.mul (local.get $iw) (local.get $cb))))
                      (local.set $ap (i32.add (local.get $arow) (i32.mul (local.get $j) (local.get $cb))))
                      (local.set $k (i32.const 0))
                      (block $vdone (loop $vloop
                        (br_if $vdone (i32.ge_u (local.get $k) (local.get $cv)))
                        (v128.store (i32.add (local.get $ap) (local.get $k))
                          (f32x4.add
                            (v128.load (i32.add (local.get $ap) (local.get $k)))
                            (f32x4.mul
                              (v128.load (i32.add (local.get $xp) (local.get $k)))
                              (v128.load (i32.add (local.get $dyp) (local.get $k))))))
                        (local.set $k (i32.add (local.get $k) (i32.const 16)))
                        (br $vloop)))
                      (block $sdone (loop $sloop
                        (br_if $sdone (i32.ge_u (local.get $k) (local.get $cb)))
                        (f32.store (i32.add (local.get $ap) (local.get $k))
                          (f32.add
                            (f32.load (i32.add (local.get $ap) (local.get $k)))
                            (f32.mul
                              (f32.load (i32.add (local.get $xp) (local.get $k)))
                              (f32.load (i32.add (local.get $dyp) (local.get $k))))))
                        (local.set $k (i32.add (local.get $k) (i32.const 4)))
                        (br $sloop)))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jloop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iloop)))
          (local.set $dyp (i32.add (local.get $dyp) (local.get $cb)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owloop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )
)
