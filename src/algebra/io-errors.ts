/**
 * Typed I/O errors. Each says what went wrong, where (file, slice, byte offset) and, where it can,
 * what would fix it; `message` is the one line the CLI prints.
 */
import * as Data from "effect/Data"

/** A file could not be opened, read, written, renamed or removed. */
export class FileError extends Data.TaggedError("FileError")<{
  readonly path: string
  readonly operation: "open" | "read" | "write" | "stat" | "rename" | "remove" | "list" | "create"
  readonly detail: string
}> {
  override get message(): string {
    return `cannot ${this.operation} ${this.path}: ${this.detail}`
  }
}

/** A file's content is not what its format (or its own header) says it should be. */
export class FormatError extends Data.TaggedError("FormatError")<{
  readonly path: string
  /** Where: "byte 1234", "slice 17", "header line 5", "IFD 3 tag 258" … */
  readonly position: string
  readonly detail: string
  readonly hint?: string
}> {
  override get message(): string {
    return `${this.path}: ${this.position}: ${this.detail}${this.hint ? ` (${this.hint})` : ""}`
  }
}

/** A volume is valid but this reader or writer cannot handle it (dtype, compression, layout). */
export class UnsupportedError extends Data.TaggedError("UnsupportedError")<{
  readonly path: string
  readonly detail: string
  readonly hint?: string
}> {
  override get message(): string {
    return `${this.path}: unsupported: ${this.detail}${this.hint ? ` (${this.hint})` : ""}`
  }
}

export type IoError = FileError | FormatError | UnsupportedError

/** Turns a Node.js error from `operation` on `path` into a FileError. */
export const fileError = (path: string, operation: FileError["operation"], cause: unknown): FileError =>
  new FileError({
    path,
    operation,
    detail: cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) + (
      (cause as NodeJS.ErrnoException).code ? `: ${describeErrno((cause as NodeJS.ErrnoException).code!)}` : ""
    ) : String(cause)
  })

const describeErrno = (code: string): string => {
  switch (code) {
    case "ENOENT":
      return "no such file or directory"
    case "EACCES":
      return "permission denied"
    case "EISDIR":
      return "is a directory"
    case "ENOTDIR":
      return "not a directory"
    case "ENOSPC":
      return "no space left on device"
    case "EEXIST":
      return "already exists"
    default:
      return "system error"
  }
}
