;; A uint32 table lookup over uint32 voxels (see table-lookup.ts): label's provisional labels to
;; its final ones.
;;
;; lookup_u32(in, out, n, padded, entries): out[i] = in[i] < entries ? padded[in[i] + 1] : padded[0],
;; i < n, where padded is the table after one 0 entry
(module
  (import "env" "memory" (memory 1))
  (func (export "lookup_u32") (param $in i32) (param $out i32) (param $n i32) (param $padded i32) (param $entries i32)
    (local $i i32) (local $x i32)
    (block $done
      (loop $voxels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (i32.load (i32.add (local.get $in) (i32.shl (local.get $i) (i32.const 2)))))
        ;; An index past the table reads the 0 before it: no branch on the data.
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i32.load (i32.add (local.get $padded)
            (i32.shl (select (i32.add (local.get $x) (i32.const 1)) (i32.const 0) (i32.lt_u (local.get $x) (local.get $entries))) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $voxels)))))
