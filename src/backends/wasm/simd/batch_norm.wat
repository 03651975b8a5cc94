;; Training-mode batch normalisation over the last axis (rows = every other axis), float32,
;; 128-bit SIMD. Source of the bytes in `modules.ts`; driven by `../kernels/BatchNormTrain.ts`.
;;
;; Per-channel sums go through float32 accumulators that are added into float64 totals every 64
;; rows (and at the end), so a sum over a whole batch (MobileNetV2 at 96 px: 73,728 rows) keeps
;; float64 accuracy at float32 speed. Statistics use the shifted-data formula (sums of x - K with
;; K = the first row), which avoids the cancellation of E[x^2] - E[x]^2 when |mean| >> std.
;; Why: composed from TF.js ops, forward + backward of one BN layer are ~15 element-wise passes
;; over the activation; here the forward is 2 passes and the backward 2 (reading x and dy once each
;; per pass).
;;
;; All pointers are byte offsets; per-channel vectors are c float32 (`blk1`, `blk2`: scratch, zeroed
;; by the caller) or c float64 (`s1`, `s2`: totals, zeroed by the caller).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; s[ch] += f64(blk[ch]); blk[ch] = 0
  (func $flush (param $blk i32) (param $s i32) (param $c i32)
    (local $ch i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $ch) (local.get $c)))
      (f64.store (i32.add (local.get $s) (i32.shl (local.get $ch) (i32.const 3)))
        (f64.add (f64.load (i32.add (local.get $s) (i32.shl (local.get $ch) (i32.const 3))))
          (f64.promote_f32 (f32.load (i32.add (local.get $blk) (i32.shl (local.get $ch) (i32.const 2)))))))
      (f32.store (i32.add (local.get $blk) (i32.shl (local.get $ch) (i32.const 2))) (f32.const 0))
      (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
      (br $l))))

  ;; s1[c] = sum over rows of (x - k), s2[c] = sum of (x - k)^2, where k = the row at `k`.
  (func (export "bnStats")
    (param $x i32) (param $rows i32) (param $c i32) (param $k i32)
    (param $blk1 i32) (param $blk2 i32) (param $s1 i32) (param $s2 i32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $inb i32)
    (local $d v128) (local $ds f32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $k) (local.get $j)))))
        (v128.store (i32.add (local.get $blk1) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $blk1) (local.get $j))) (local.get $d)))
        (v128.store (i32.add (local.get $blk2) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $blk2) (local.get $j))) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (local.set $ds (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $k) (local.get $j)))))
        (f32.store (i32.add (local.get $blk1) (local.get $j)) (f32.add (f32.load (i32.add (local.get $blk1) (local.get $j))) (local.get $ds)))
        (f32.store (i32.add (local.get $blk2) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $blk2) (local.get $j))) (f32.mul (local.get $ds) (local.get $ds))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (local.set $inb (i32.add (local.get $inb) (i32.const 1)))
      (if (i32.or (i32.eq (local.get $inb) (i32.const 64)) (i32.eq (local.get $r) (local.get $rows)))
        (then
          (call $flush (local.get $blk1) (local.get $s1) (local.get $c))
          (call $flush (local.get $blk2) (local.get $s2) (local.get $c))
          (local.set $inb (i32.const 0))))
      (br $rloop))))

  ;; s1[c] = sum over rows of dy, s2[c] = sum of dy * (x - mean).
  (func (export "bnGradSums")
    (param $dy i32) (param $x i32) (param $rows i32) (param $c i32) (param $mean i32)
    (param $blk1 i32) (param $blk2 i32) (param $s1 i32) (param $s2 i32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $gp i32) (local $inb i32)
    (local $g v128) (local $gs f32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $gp (local.get $dy))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (local.set $g (v128.load (i32.add (local.get $gp) (local.get $j))))
        (v128.store (i32.add (local.get $blk1) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $blk1) (local.get $j))) (local.get $g)))
        (v128.store (i32.add (local.get $blk2) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $blk2) (local.get $j)))
            (f32x4.mul (local.get $g) (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (local.set $gs (f32.load (i32.add (local.get $gp) (local.get $j))))
        (f32.store (i32.add (local.get $blk1) (local.get $j)) (f32.add (f32.load (i32.add (local.get $blk1) (local.get $j))) (local.get $gs)))
        (f32.store (i32.add (local.get $blk2) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $blk2) (local.get $j)))
            (f32.mul (local.get $gs) (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $gp (i32.add (local.get $gp) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (local.set $inb (i32.add (local.get $inb) (i32.const 1)))
      (if (i32.or (i32.eq (local.get $inb) (i32.const 64)) (i32.eq (local.get $r) (local.get $rows)))
        (then
          (call $flush (local.get $blk1) (local.get $s1) (local.get $c))
          (call $flush (local.get $blk2) (local.get $s2) (local.get $c))
          (local.set $inb (i32.const 0))))
      (br $rloop))))

  ;; y = (x - mean) * scale + beta   (scale = gamma * rstd)
  (func (export "bnApply")
    (param $x i32) (param $y i32) (param $rows i32) (param $c i32) (param $mean i32) (param $scale i32) (param $beta i32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $yp i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $yp (local.get $y))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (v128.store (i32.add (local.get $yp) (local.get $j))
          (f32x4.add
            (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j))))
              (v128.load (i32.add (local.get $scale) (local.get $j))))
            (v128.load (i32.add (local.get $beta) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (f32.store (i32.add (local.get $yp) (local.get $j))
          (f32.add
            (f32.mul (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j))))
              (f32.load (i32.add (local.get $scale) (local.get $j))))
            (f32.load (i32.add (local.get $beta) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $yp (i32.add (local.get $yp) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; dx = a * ((dy - b) - (x - mean) * d)   (a = gamma * rstd, b = dbeta / M, d = rstd * dgamma / M)
  (func (export "bnGradApply")
    (param $dy i32) (param $x i32) (param $dx i32) (param $rows i32) (param $c i32)
    (param $mean i32) (param $a i32) (param $b i32) (param $d i32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $gp i32) (local $op i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $gp (local.get $dy))
    (local.set $op (local.get $dx))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (v128.store (i32.add (local.get $op) (local.get $j))
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $j)))
            (f32x4.sub
              (f32x4.sub (v128.load (i32.add (local.get $gp) (local.get $j))) (v128.load (i32.add (local.get $b) (local.get $j))))
              (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j))))
                (v128.load (i32.add (local.get $d) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (f32.store (i32.add (local.get $op) (local.get $j))
          (f32.mul (f32.load (i32.add (local.get $a) (local.get $j)))
            (f32.sub
              (f32.sub (f32.load (i32.add (local.get $gp) (local.get $j))) (f32.load (i32.add (local.get $b) (local.get $j))))
              (f32.mul (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j))))
                (f32.load (i32.add (local.get $d) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $gp (i32.add (local.get $gp) (local.get $cb)))
      (local.set $op (i32.add (local.get $op) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; ---- BN followed by ReLU (max = +inf) or ReLU6 (max = 6), fused (`TkBatchNormActTrain`) ----
  ;; pre = (x - mean) * a + beta with a = gamma * rstd: the same float32 operations, in the same
  ;; order, as bnApply, so the gradient's mask sees exactly the pre-activation the forward clamped.
  ;; NaN passes through both (as tfjs's relu): f32x4.max/min propagate it, and the mask keeps it.

  ;; y = min(max(pre, 0), max)
  (func (export "bnApplyAct")
    (param $x i32) (param $y i32) (param $rows i32) (param $c i32) (param $mean i32) (param $scale i32) (param $beta i32) (param $max f32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $yp i32) (local $maxv v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $yp (local.get $y))
    (local.set $maxv (f32x4.splat (local.get $max)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (v128.store (i32.add (local.get $yp) (local.get $j))
          (f32x4.min
            (f32x4.max
              (f32x4.add
                (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j))))
                  (v128.load (i32.add (local.get $scale) (local.get $j))))
                (v128.load (i32.add (local.get $beta) (local.get $j))))
              (v128.const i32x4 0 0 0 0))
            (local.get $maxv)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (f32.store (i32.add (local.get $yp) (local.get $j))
          (f32.min
            (f32.max
              (f32.add
                (f32.mul (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j))))
                  (f32.load (i32.add (local.get $scale) (local.get $j))))
                (f32.load (i32.add (local.get $beta) (local.get $j))))
              (f32.const 0))
            (local.get $max)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $yp (i32.add (local.get $yp) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; dy masked by the activation: pre where pre is NaN, else dy where 0 < pre <= max, else +0
  ;; (scalar tails; the vector loops write the same mask out).
  (func $masks (param $dy f32) (param $pre f32) (param $max f32) (result f32)
    (select (local.get $pre)
      (select (local.get $dy) (f32.const 0)
        (i32.and (f32.gt (local.get $pre) (f32.const 0)) (f32.le (local.get $pre) (local.get $max))))
      (f32.ne (local.get $pre) (local.get $pre))))

  ;; As bnGradSums, with dy masked: s1[c] = sum of g, s2[c] = sum of g * (x - mean).
  (func (export "bnGradSumsAct")
    (param $dy i32) (param $x i32) (param $rows i32) (param $c i32) (param $mean i32)
    (param $blk1 i32) (param $blk2 i32) (param $s1 i32) (param $s2 i32) (param $a i32) (param $beta i32) (param $max f32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $gp i32) (local $inb i32)
    (local $g v128) (local $xm v128) (local $pre v128) (local $maxv v128) (local $gs f32) (local $xms f32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $gp (local.get $dy))
    (local.set $maxv (f32x4.splat (local.get $max)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (local.set $xm (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j)))))
        ;; the mask written out (a call per vector is not inlined by V8 and cost ~2x here)
        (local.set $pre (f32x4.add (f32x4.mul (local.get $xm) (v128.load (i32.add (local.get $a) (local.get $j)))) (v128.load (i32.add (local.get $beta) (local.get $j)))))
        (local.set $g (v128.bitselect (local.get $pre)
          (v128.and (v128.load (i32.add (local.get $gp) (local.get $j)))
            (v128.and (f32x4.gt (local.get $pre) (v128.const i32x4 0 0 0 0)) (f32x4.le (local.get $pre) (local.get $maxv))))
          (f32x4.ne (local.get $pre) (local.get $pre))))
        (v128.store (i32.add (local.get $blk1) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $blk1) (local.get $j))) (local.get $g)))
        (v128.store (i32.add (local.get $blk2) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $blk2) (local.get $j))) (f32x4.mul (local.get $g) (local.get $xm))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (local.set $xms (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j)))))
        (local.set $gs (call $masks (f32.load (i32.add (local.get $gp) (local.get $j)))
          (f32.add (f32.mul (local.get $xms) (f32.load (i32.add (local.get $a) (local.get $j)))) (f32.load (i32.add (local.get $beta) (local.get $j))))
          (local.get $max)))
        (f32.store (i32.add (local.get $blk1) (local.get $j)) (f32.add (f32.load (i32.add (local.get $blk1) (local.get $j))) (local.get $gs)))
        (f32.store (i32.add (local.get $blk2) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $blk2) (local.get $j))) (f32.mul (local.get $gs) (local.get $xms))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $gp (i32.add (local.get $gp) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (local.set $inb (i32.add (local.get $inb) (i32.const 1)))
      (if (i32.or (i32.eq (local.get $inb) (i32.const 64)) (i32.eq (local.get $r) (local.get $rows)))
        (then
          (call $flush (local.get $blk1) (local.get $s1) (local.get $c))
          (call $flush (local.get $blk2) (local.get $s2) (local.get $c))
          (local.set $inb (i32.const 0))))
      (br $rloop))))

  ;; As bnGradApply, with dy masked: dx = a * ((g - b) - (x - mean) * d).
  (func (export "bnGradApplyAct")
    (param $dy i32) (param $x i32) (param $dx i32) (param $rows i32) (param $c i32)
    (param $mean i32) (param $a i32) (param $b i32) (param $d i32) (param $beta i32) (param $max f32)
    (local $r i32) (local $j i32) (local $cb i32) (local $cv i32) (local $xp i32) (local $gp i32) (local $op i32)
    (local $xm v128) (local $av v128) (local $pre v128) (local $maxv v128) (local $xms f32) (local $as f32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cv (i32.and (local.get $cb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $gp (local.get $dy))
    (local.set $op (local.get $dx))
    (local.set $maxv (f32x4.splat (local.get $max)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $j) (local.get $cv)))
        (local.set $xm (f32x4.sub (v128.load (i32.add (local.get $xp) (local.get $j))) (v128.load (i32.add (local.get $mean) (local.get $j)))))
        (local.set $av (v128.load (i32.add (local.get $a) (local.get $j))))
        (local.set $pre (f32x4.add (f32x4.mul (local.get $xm) (local.get $av)) (v128.load (i32.add (local.get $beta) (local.get $j)))))
        (v128.store (i32.add (local.get $op) (local.get $j))
          (f32x4.mul (local.get $av)
            (f32x4.sub
              (f32x4.sub
                (v128.bitselect (local.get $pre)
                  (v128.and (v128.load (i32.add (local.get $gp) (local.get $j)))
                    (v128.and (f32x4.gt (local.get $pre) (v128.const i32x4 0 0 0 0)) (f32x4.le (local.get $pre) (local.get $maxv))))
                  (f32x4.ne (local.get $pre) (local.get $pre)))
                (v128.load (i32.add (local.get $b) (local.get $j))))
              (f32x4.mul (local.get $xm) (v128.load (i32.add (local.get $d) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vloop)))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $cb)))
        (local.set $xms (f32.sub (f32.load (i32.add (local.get $xp) (local.get $j))) (f32.load (i32.add (local.get $mean) (local.get $j)))))
        (local.set $as (f32.load (i32.add (local.get $a) (local.get $j))))
        (f32.store (i32.add (local.get $op) (local.get $j))
          (f32.mul (local.get $as)
            (f32.sub
              (f32.sub
                (call $masks (f32.load (i32.add (local.get $gp) (local.get $j)))
                  (f32.add (f32.mul (local.get $xms) (local.get $as)) (f32.load (i32.add (local.get $beta) (local.get $j))))
                  (local.get $max))
                (f32.load (i32.add (local.get $b) (local.get $j))))
              (f32.mul (local.get $xms) (f32.load (i32.add (local.get $d) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sloop)))
      (local.set $xp (i32.add (local.get $xp) (local.get $cb)))
      (local.set $gp (i32.add (local.get $gp) (local.get $cb)))
      (local.set $op (i32.add (local.get $op) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))
)
