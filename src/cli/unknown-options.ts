/**
 * Unknown options, found before @effect/cli parses the command line. @effect/cli takes a word it
 * does not know as an option for a positional argument: `run in out --memmory 64MiB` became the
 * steps "--memmory" and "64MiB", `info --jsn x` the input "--jsn". Here every word that starts with
 * "-" must be an option of its command (or a built-in one: --help, --version …), else the command
 * line is refused in one line naming it and the closest known option:
 * "unknown option --memmory for slicewise run (did you mean --memory?)".
 *
 * @example
 * ```ts
 * unknownOption(["run", "in.tif", "out.tif", "--memmory", "64MiB"], cli)
 * // "unknown option --memmory for slicewise run (did you mean --memory?)"
 * ```
 */
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import type * as Usage from "@effect/cli/Usage"
import * as Option from "effect/Option"

/** An option a command takes: its name ("--memory", "-h") and whether a value follows it. */
export interface KnownOption {
  readonly name: string
  readonly takesValue: boolean
}

/** What @effect/cli adds to every command (src/internal/builtInOptions.ts). */
export const BUILT_IN_OPTIONS: ReadonlyArray<KnownOption> = [
  { name: "--help", takesValue: false },
  { name: "-h", takesValue: false },
  { name: "--version", takesValue: false },
  { name: "--wizard", takesValue: false },
  { name: "--completions", takesValue: true },
  { name: "--log-level", takesValue: true }
]

/** The options named in a command's usage (its arguments' names do not start with "-"). */
export const optionsOfUsage = (usage: Usage.Usage): Array<KnownOption> => {
  switch (usage._tag) {
    case "Named":
      return usage.names.filter((n) => n.startsWith("-")).map((name) => ({ name, takesValue: Option.isSome(usage.acceptedValues) }))
    case "Optional":
    case "Repeated":
      return optionsOfUsage(usage.usage)
    case "Alternation":
    case "Concat":
      return [...optionsOfUsage(usage.left), ...optionsOfUsage(usage.right)]
    case "Empty":
    case "Mixed":
      return []
  }
}

/** Edit distance (insertions, deletions, substitutions). */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    }
    row = next
  }
  return row[b.length]!
}

/**
 * The known option closest to `given`, if it is close enough to be a typo: at most 2 edits (1 for
 * short names), or the only option that starts with it (`--mem` → `--memory`).
 */
export const closestOption = (given: string, known: ReadonlyArray<string>): string | undefined => {
  const g = given.toLowerCase()
  const bare = g.replace(/^-+/, "")
  const scored = known
    .map((name) => ({ name, d: Math.min(distance(g, name), distance(bare, name.replace(/^-+/, ""))) }))
    .sort((a, b) => a.d - b.d)
  const best = scored[0]
  if (best !== undefined && best.d <= (bare.length <= 3 ? 1 : 2) && scored.filter((s) => s.d === best.d).length === 1) return best.name
  const prefixed = known.filter((name) => bare.length >= 2 && name.replace(/^-+/, "").startsWith(bare))
  return prefixed.length === 1 ? prefixed[0] : undefined
}

/** A word that is a (negative) number, not an option: "-1", "-0.5", "-.5e3". */
const NUMBER = /^-(\d|\.\d)/

/**
 * The first word of `args` (a command's words, after its name) that looks like an option but is
 * none of `known`, as a one-line message; undefined when there is none. A known option that takes
 * a value skips the word after it (`--codec -x` is left to the codec's check); "--" ends options.
 */
export const unknownOptionIn = (args: ReadonlyArray<string>, known: ReadonlyArray<KnownOption>, command: string): string | undefined => {
  const byName = new Map(known.map((o) => [o.name.toLowerCase(), o]))
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!
    if (word === "--") return undefined
    if (!word.startsWith("-") || word === "-" || NUMBER.test(word)) continue
    const eq = word.indexOf("=")
    const name = eq < 0 ? word : word.slice(0, eq)
    const option = byName.get(name.toLowerCase())
    if (option !== undefined) {
      if (option.takesValue && eq < 0) i++
      continue
    }
    const suggestion = closestOption(name, [...new Set(known.map((o) => o.name).filter((n) => n.startsWith("--")))])
    return `unknown option ${name} for ${command} (${suggestion === undefined ? `${command} --help lists its options` : `did you mean ${suggestion}?`})`
  }
  return undefined
}

/**
 * The first unknown option on a command line of `root` (argv without node and the script), as a
 * one-line message: words before the subcommand are checked against the built-in options, words
 * after it against the subcommand's own options and the built-in ones. (Subcommands one level deep,
 * as slicewise has them.)
 */
export const unknownOption = <Name extends string, R, E, A>(argv: ReadonlyArray<string>, root: Command.Command<Name, R, E, A>): string | undefined => {
  const rootName = [...Command.getNames(root)][0] ?? "slicewise"
  const subcommands = new Map(Command.getSubcommands(root))
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (word === "--") return undefined
    const sub = subcommands.get(word)
    if (sub !== undefined) return unknownOptionIn(argv.slice(i + 1), [...optionsOfUsage(Descriptor.getUsage(sub)), ...BUILT_IN_OPTIONS], `${rootName} ${word}`)
    if (!word.startsWith("-")) return undefined // not a command: @effect/cli says so
    const before = unknownOptionIn([word], BUILT_IN_OPTIONS, rootName)
    if (before !== undefined) return before
    if (BUILT_IN_OPTIONS.some((o) => o.takesValue && o.name === word)) i++
  }
  return undefined
}
