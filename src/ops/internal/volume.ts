/** Dtype erasure for code that handles volumes of any dtype (the CLI's steps). */
import type { Repr, Volume } from "../../algebra/algebra.js"
import type { DType } from "../../algebra/dtype.js"

/** A volume of a known dtype seen as a volume of some dtype. */
export const erase = <F extends Repr, D extends DType>(v: Volume<F, D>): Volume<F, DType> => v as unknown as Volume<F, DType>
