/**
 * Natural ordering of file names: digit runs compare as numbers, so "img2" < "img10". The same
 * on every machine (no locale), ties broken by plain code-unit order.
 *
 * @example
 * ```ts
 * ["img10.tif", "img2.tif", "img1.tif"].sort(naturalCompare)   // img1, img2, img10
 * ```
 */
const isDigit = (c: number): boolean => c >= 48 && c <= 57

export const naturalCompare = (a: string, b: string): number => {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i)
    const cb = b.charCodeAt(j)
    if (isDigit(ca) && isDigit(cb)) {
      let ie = i
      while (ie < a.length && isDigit(a.charCodeAt(ie))) ie++
      let je = j
      while (je < b.length && isDigit(b.charCodeAt(je))) je++
      // Compare the runs as numbers without parsing: skip leading zeros, then longer is larger.
      let is = i
      while (is < ie - 1 && a.charCodeAt(is) === 48) is++
      let js = j
      while (js < je - 1 && b.charCodeAt(js) === 48) js++
      if (ie - is !== je - js) return ie - is - (je - js)
      for (let k = 0; k < ie - is; k++) {
        const d = a.charCodeAt(is + k) - b.charCodeAt(js + k)
        if (d !== 0) return d
      }
      i = ie
      j = je
    } else {
      if (ca !== cb) return ca - cb
      i++
      j++
    }
  }
  if (a.length - i !== b.length - j) return a.length - i - (b.length - j)
  return a < b ? -1 : a > b ? 1 : 0
}
