;; Max-pooling gradient (no dilation), NHWC, float32, 128-bit SIMD. Source of the bytes in
;; `modules.ts`; driven by `../kernels/MaxPoolGrad.ts`.
;;
;;   dx[n, r, q, c] = sum over the output positions (oh, ow) whose window's maximum of x[n, :, :, c]
;;                    is at (r, q), of dy[n, oh, ow, c]
;;
;; As tfjs's `maxPoolPositions`: the window is the part of [oh*sh - pt, +kh) x [ow*sw - pl, +kw)
;; inside the input (padding never wins), scanned row by row, and the first strictly greater value
;; wins (so a NaN never does, and a window of only -inf/NaN passes no gradient). Four channels at a
;; time: per lane, the maximum and the address of its dx element are tracked with compare masks,
;; then dy is added at the four addresses. `dx` must be zeroed by the caller.
;; Why: tfjs-backend-wasm's MaxPoolGrad took 120 ms of a 2.8 s ResNet50 training step (its
;; [4, 112, 112, 64] 3x3 stride-2 pool at batch 4).
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $ho i32) (param $wo i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $r i32) (local $q i32)
    (local $r0 i32) (local $r1 i32) (local $q0 i32) (local $q1 i32)
    (local $cb i32) (local $cv i32) (local $j i32) (local $img i32) (local $pix i32) (local $dyp i32) (local $p i32)
    (local $xv v128) (local $maxv v128) (local $pos v128) (local $gt v128) (local $dyv v128)
    (local $xs f32) (local $maxs f32) (local $poss i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $dyp (local.get $dy))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      ;; byte offset of image b
      (local.set $img (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $cb))))
      (local.set $oh (i32.const 0))
      (block $ohdone (loop $ohloop
        (br_if $ohdone (i32.ge_u (local.get $oh) (local.get $ho)))
        (local.set $r0 (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $kh)))
        (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
        (if (i32.gt_s (local.get $r1) (local.get $h)) (then (local.set $r1 (local.get $h))))
        (local.set $ow (i32.const 0))
        (block $owdone (loop $owloop
          (br_if $owdone (i32.ge_u (local.get $ow) (local.get $wo)))
          (local.set $q0 (i32.sub (i32.mul (local.get $ow) (local.get $sw)) (local.get $pl)))
          (local.set $q1 (i32.add (local.get $q0) (local.get $kw)))
          (if (i32.lt_s (local.get $q0) (i32.const 0)) (then (local.set $q0 (i32.const 0))))
          (if (i32.gt_s (local.get $q1) (local.get $w)) (then (local.set $q1 (local.get $w))))
          ;; four channels at a time
          (local.set $j (i32.const 0))
          (block $vdone (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
            (local.set $maxv (f32x4.splat (f32.const -inf)))
            (local.set $pos (i32x4.splat (i32.const -1)))
            (local.set $r (local.get $r0))
            (block $rdone (loop $rloop
              (br_if $rdone (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $q (local.get $q0))
              (block $qdone (loop $qloop
                (br_if $qdone (i32.ge_s (local.get $q) (local.get $q1)))
                ;; pix: byte offset of (b, r, q, j) from the start of x / dx
                (local.set $pix (i32.add (i32.add (local.get $img)
                  (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $cb))) (local.get $j)))
                (local.set $xv (v128.load (i32.add (local.get $x) (local.get $pix))))
                (local.set $gt (f32x4.gt (local.get $xv) (local.get $maxv)))
                (local.set $maxv (v128.bitselect (local.get $xv) (local.get $maxv) (local.get $gt)))
                (local.set $pos (v128.bitselect
                  (i32x4.add (i32x4.splat (i32.add (local.get $dx) (local.get $pix))) (v128.const i32x4 0 4 8 12))
                  (local.get $pos) (local.get $gt)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qloop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $rloop)))
            (local.set $dyv (v128.load (i32.add (local.get $dyp) (local.get $j))))
            (local.set $p (i32x4.extract_lane 0 (local.get $pos)))
            (if (i32.ne (local.get $p) (i32.const -1))
              (then (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 0 (local.get $dyv))))))
            (local.set $p (i32x4.extract_lane 1 (local.get $pos)))
            (if (i32.ne (local.get $p) (i32.const -1))
              (then (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 1 (local.get $dyv))))))
            (local.set $p (i32x4.extract_lane 2 (local.get $pos)))
            (if (i32.ne (local.get $p) (i32.const -1))
              (then (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 2 (local.get $dyv))))))
            (local.set $p (i32x4.extract_lane 3 (local.get $pos)))
            (if (i32.ne (local.get $p) (i32.const -1))
              (then (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32x4.extract_lane 3 (local.get $dyv))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vloop)))
          ;; the last (c mod 4) channels, one at a time
          (block $sdone (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
            (local.set $maxs (f32.const -inf))
            (local.set $poss (i32.const -1))
            (local.set $r (local.get $r0))
            (block $r2done (loop $r2loop
              (br_if $r2done (i32.ge_s (local.get $r) (local.get $r1)))
              (local.set $q (local.get $q0))
              (block $q2done (loop $q2loop
                (br_if $q2done (i32.ge_s (local.get $q) (local.get $q1)))
                (local.set $pix (i32.add (i32.add (local.get $img)
                  (i32.mul (i32.add (i32.mul (local.get $r) (local.get $w)) (local.get $q)) (local.get $cb))) (local.get $j)))
                (local.set $xs (f32.load (i32.add (local.get $x) (local.get $pix))))
                (if (f32.gt (local.get $xs) (local.get $maxs))
                  (then
                    (local.set $maxs (local.get $xs))
                    (local.set $poss (i32.add (local.get $dx) (local.get $pix)))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $q2loop)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $r2loop)))
            (if (i32.ne (local.get $poss) (i32.const -1))
              (then (f32.store (local.get $poss)
                (f32.add (f32.load (local.get $poss)) (f32.load (i32.add (local.get $dyp) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sloop)))
          (local.set $dyp (i32.add (local.get $dyp) (local.get $cb)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owloop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )
)
