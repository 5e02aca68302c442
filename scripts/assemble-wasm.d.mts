/** The module of src/ops/internal/tap-sum.wat assembled by wabt, base64. */
export declare const assembleTapSum: () => Promise<string>
