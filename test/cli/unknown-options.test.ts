import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { closestOption, unknownOption } from "../../src/cli/unknown-options.js"

const run = Command.make(
  "run",
  {
    input: Args.text({ name: "input" }),
    steps: Args.text({ name: "step" }).pipe(Args.repeated),
    memory: Options.text("memory").pipe(Options.optional),
    json: Options.boolean("json"),
    codec: Options.text("codec").pipe(Options.optional)
  },
  () => Effect.void
)
const cli = Command.make("slicewise").pipe(Command.withSubcommands([run]))

describe("unknownOption", () => {
  it("names an option its command does not take, with the closest known one", () => {
    expect(unknownOption(["run", "in", "--memmory", "64MiB"], cli)).toBe("unknown option --memmory for slicewise run (did you mean --memory?)")
    expect(unknownOption(["run", "in", "--JSN"], cli)).toBe("unknown option --JSN for slicewise run (did you mean --json?)")
    expect(unknownOption(["run", "in", "-memory=1GiB"], cli)).toBe("unknown option -memory for slicewise run (did you mean --memory?)")
    expect(unknownOption(["run", "in", "--zzz"], cli)).toBe("unknown option --zzz for slicewise run (slicewise run --help lists its options)")
    expect(unknownOption(["--verison"], cli)).toBe("unknown option --verison for slicewise (did you mean --version?)")
  })

  it("accepts known options, their values, = forms, negative numbers, built-ins and words after --", () => {
    for (const argv of [
      ["run", "in", "median:radius=1", "--memory", "1GiB", "--json"],
      ["run", "in", "--memory=1GiB", "--JSON"],
      ["run", "in", "--codec", "-weird"],
      ["run", "in", "-1"],
      ["run", "--help"],
      ["run", "-h"],
      ["--version"],
      ["run", "in", "--", "--not-an-option"],
      ["unknown-command", "--whatever"]
    ]) {
      expect(unknownOption(argv, cli), argv.join(" ")).toBeUndefined()
    }
  })
})

describe("closestOption", () => {
  it("suggests within two edits, or the one option a prefix starts", () => {
    const known = ["--memory", "--buffers", "--mode", "--json", "--threads"]
    expect(closestOption("--memmory", known)).toBe("--memory")
    expect(closestOption("--mem", known)).toBe("--memory")
    expect(closestOption("--thread", known)).toBe("--threads")
    expect(closestOption("--m", known)).toBeUndefined()
    expect(closestOption("--frobnicate", known)).toBeUndefined()
  })
})
