;; Transpose of a row-major [rows, cols] matrix of 32-bit elements, rows r0..r1 of it:
;;
;;   dst[c, r] = src[r, c]      for r0 <= r < r1, 0 <= c < cols   (dst is [cols, rows])
;;
;; 128-bit SIMD, 4x4 blocks: four rows of four elements loaded, transposed in registers with
;; eight shuffles, stored as four columns. Columns are taken in tiles of 64 so that the 64
;; destination rows being written stay in L1 while the source rows stream past. The row range
;; lets several threads split one matrix. Source of the bytes in `modules.ts`.
;;
;; Why: tfjs-backend-wasm's generic Transpose moved the tall, narrow matrices of the pointwise
;; filter gradients ([18432, 144] at 96 px, batch 32) at ~0.3 GB/s: ~15 % of a MobileNetV2
;; training step.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "transpose2d")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $r0 i32) (param $r1 i32)
    (local $rb i32) (local $cb i32) (local $cols4 i32) (local $rEnd4 i32) (local $c0 i32) (local $c1 i32)
    (local $r i32) (local $c i32) (local $s i32) (local $d i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ;; $rb: bytes per source row; $cb: bytes per destination row (one source column)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rEnd4 (i32.add (local.get $r0) (i32.and (i32.sub (local.get $r1) (local.get $r0)) (i32.const -4))))
    ;; 4x4 blocks
    (local.set $c0 (i32.const 0))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $c0) (local.get $cols4)))
      (local.set $c1 (select (local.get $cols4) (i32.add (local.get $c0) (i32.const 64))
        (i32.gt_u (i32.add (local.get $c0) (i32.const 64)) (local.get $cols4))))
      (local.set $r (local.get $r0))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rEnd4)))
        (local.set $c (local.get $c0))
        (block $cdone (loop $cloop
          (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
          (local.set $s (i32.add (local.get $src)
            (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
          (local.set $a0 (v128.load (local.get $s)))
          (local.set $a1 (v128.load (i32.add (local.get $s) (local.get $rb))))
          (local.set $a2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $rb) (i32.const 1)))))
          (local.set $a3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $rb) (i32.const 3)))))
          ;; t0 = [a00 a10 a01 a11], t1 = [a02 a12 a03 a13], t2 = [a20 a30 a21 a31], t3 = [a22 a32 a23 a33]
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
          (local.set $d (i32.add (local.get $dst)
            (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
          (v128.store (local.get $d)
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (local.get $cb))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (i32.shl (local.get $cb) (i32.const 1)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store (i32.add (local.get $d) (i32.mul (local.get $cb) (i32.const 3)))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $cloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop)))
      (local.set $c0 (local.get $c1))
      (br $tloop)))
    ;; the last (cols mod 4) columns, every row of the range
    (local.set $r (local.get $r0))
    (block $r2done (loop $r2loop
      (br_if $r2done (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $c (local.get $cols4))
      (block $c2done (loop $c2loop
        (br_if $c2done (i32.ge_u (local.get $c) (local.get $cols)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $c2loop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $r2loop)))
    ;; the last ((r1 - r0) mod 4) rows, the columns the blocks covered
    (local.set $r (local.get $rEnd4))
    (block $r3done (loop $r3loop
      (br_if $r3done (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $c (i32.const 0))
      (block $c3done (loop $c3loop
        (br_if $c3done (i32.ge_u (local.get $c) (local.get $cols4)))
        (i32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
          (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $c3loop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $r3loop)))
  )
)
