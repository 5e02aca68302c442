/**
 * Typed I/O errors. Each says what went wrong, where (file, slice, byte offset) and, where it can,
 * what would fix it; `message` is the one line the CLI prints.
 */
import * as Data from "effect/Data"

/** What was being done to the file. */
export type FileOperation = "open" | "read" | "write" | "stat" | "rename" | "remove" | "list" | "create"

/** The props of a FileError, before a detail written "ECODE: text" is split into code and text. */
export interface FileErrorProps {
  readonly path: string
  readonly operation: FileOperation
  /** What went wrong, in words ("no such file or directory"); never the errno code alone. */
  readonly detail: string
  /** The system's error code ("ENOENT", "EACCES" …) for programs, when the system gave one. */
  readonly code?: string
  /** Where in the file, when known: "byte 7864360", "slice 119, byte 7864360", "slices 8…15". */
  readonly position?: string
}

/**
 * A file could not be opened, read, written, renamed or removed. Its message is plain language:
 * "scan.tif: no such file or directory", "cannot create out/dir/x.tif: the directory out/dir does
 * not exist", "cannot open x.tif: permission denied"; the errno code stays in `code`. A read that
 * failed at a known place says where: "cannot read scan.nrrd: slice 119, byte 7864360: input/output
 * error".
 */
export class FileError extends Data.TaggedError("FileError")<FileErrorProps> {
  constructor(props: FileErrorProps) {
    // Callers that wrote the code into the detail ("EISDIR: is a directory") get it split out.
    const coded = props.code === undefined ? /^(E[A-Z0-9]+): (.+)$/s.exec(props.detail) : null
    super(coded === null ? props : { ...props, code: coded[1]!, detail: coded[2]! })
  }

  override get message(): string {
    if (this.code === "ENOENT") {
      switch (this.operation) {
        case "create":
        case "write":
          return `cannot ${this.operation} ${this.path}: the directory ${parentOf(this.path)} does not exist`
        case "rename":
        case "remove":
          return `cannot ${this.operation} ${this.path}: no such file or directory`
        default:
          return `${this.path}: no such file or directory`
      }
    }
    return `cannot ${this.operation} ${this.path}: ${this.position === undefined ? "" : `${this.position}: `}${this.detail}`
  }
}

/** The directory a path is in ("out/dir" for "out/dir/x.tif", "." for "x.tif"). */
const parentOf = (path: string): string => {
  const trimmed = path.replace(/[\\/]+$/, "")
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"))
  return slash < 0 ? "." : slash === 0 ? trimmed.slice(0, 1) : trimmed.slice(0, slash)
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

/**
 * Turns a Node.js error from `operation` on `path` into a FileError: its code in `code`, its
 * meaning in words in `detail`.
 *
 * @example
 * ```ts
 * fileError("scan.tif", "open", enoent).message   // "scan.tif: no such file or directory"
 * fileError("scan.tif", "open", enoent).code      // "ENOENT"
 * fileError("scan.nrrd", "read", eio, "byte 4096").message   // "cannot read scan.nrrd: byte 4096: input/output error"
 * ```
 */
export const fileError = (path: string, operation: FileOperation, cause: unknown, position?: string): FileError => {
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined
  const where = position === undefined ? {} : { position }
  if (typeof code === "string" && code !== "") return new FileError({ path, operation, code, detail: describeErrno(code, cause as Error), ...where })
  return new FileError({ path, operation, detail: cause instanceof Error ? cause.message : String(cause), ...where })
}

/** An errno code in words: ours for the common ones, else Node's text without the code, the call and the path. */
const describeErrno = (code: string, cause: Error): string => {
  switch (code) {
    case "ENOENT":
      return "no such file or directory"
    case "EACCES":
      return "permission denied"
    case "EPERM":
      return "operation not permitted"
    case "EISDIR":
      return "is a directory"
    case "ENOTDIR":
      return "a part of the path is not a directory"
    case "ENOSPC":
      return "no space left on device"
    case "EDQUOT":
      return "disk quota exceeded"
    case "EEXIST":
      return "already exists"
    case "EROFS":
      return "read-only file system"
    case "EMFILE":
    case "ENFILE":
      return "too many open files"
    case "ENOTEMPTY":
      return "directory not empty"
    case "ENAMETOOLONG":
      return "file name too long"
    case "EIO":
      return "input/output error"
    default: {
      // Node writes "ECODE: what, syscall 'path'": keep "what".
      const what = cause.message.replace(/^E[A-Z0-9]+: /, "").replace(/, \w+ '.*'$/s, "").trim()
      return what === "" || what === code ? `system error ${code}` : what
    }
  }
}

/**
 * Whether `e` is a file system out of space (or over quota): a journaled run failing so keeps its
 * journal and temporaries for --resume once there is room, as an interrupted one does.
 *
 * @example
 * ```ts
 * isOutOfSpace(new FileError({ path: "out.nrrd", operation: "write", detail: "ENOSPC: no space left on device" }))   // true
 * ```
 */
export const isOutOfSpace = (e: unknown): boolean => e instanceof FileError && (e.code === "ENOSPC" || e.code === "EDQUOT")
