/**
 * The protocols of nuScr's and Scribble's test suites, translated (reference/*.ts): our verdict is the
 * reference tool's, and our projections are the ones its suite states, except where a case records a
 * disagreement, which may only be a refusal of what the reference accepts (conservative), explained.
 */
import { Choreography, LocalType } from "@troupe/runtime"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { ReferenceCase } from "./reference/case.ts"
import { nuscr } from "./reference/nuscr.ts"
import { scribble } from "./reference/scribble.ts"
import { scribbleSuite } from "./reference/scribbleSuite.ts"

const check = (c: ReferenceCase) =>
  Effect.runSync(
    Effect.result(
      Choreography.make(c.name ?? c.source.replace(/^.*\//, "").replace(/\.(scr|nuscr).*$/, ""), c.roles, c.steps)
    )
  )

const corpus: ReadonlyArray<readonly [string, ReadonlyArray<ReferenceCase>]> = [
  ["nuScr", nuscr],
  ["Scribble", [...scribble, ...scribbleSuite]]
]

describe("conformance: the reference tools' suites", () => {
  it("has at least 60 protocols, with both verdicts from both tools", () => {
    const all = [...nuscr, ...scribble, ...scribbleSuite]
    expect(all.length).toBeGreaterThanOrEqual(60)
    for (const [, cases] of corpus) {
      expect(cases.some((c) => c.verdict === "accept")).toBe(true)
      expect(cases.some((c) => c.verdict === "refuse")).toBe(true)
    }
  })

  for (const [tool, cases] of corpus)
    for (const c of cases) {
      const liberal = c.disagreement !== undefined && "nuscr" in c.disagreement
      const expected = c.disagreement === undefined ? c.verdict : liberal ? "accept" : "refuse"
      const note =
        c.disagreement === undefined
          ? ""
          : liberal
            ? " (we accept, as nuScr's merge does)"
            : " (we refuse: conservative)"
      it(`${tool} ${c.source}: ${c.verdict}s${note}`, () => {
        // A disagreement is ours refusing what the reference accepts, or (only against Scribble, where
        // nuScr's merge accepts the same shape) accepting what Scribble refuses.
        if (c.disagreement !== undefined) expect(c.verdict).toBe(liberal ? "refuse" : "accept")
        if (liberal) expect(tool).toBe("Scribble")
        const made = check(c)
        if (expected === "accept") {
          if (made._tag === "Failure") throw made.failure
          for (const [role, local] of Object.entries(c.projections ?? {}))
            expect(LocalType.print(LocalType.project(made.success, role))).toBe(local)
        } else {
          expect(made._tag).toBe("Failure")
          if (made._tag === "Failure")
            expect(made.failure.problems.map((p) => p.code)).toContain(
              c.disagreement !== undefined && "problem" in c.disagreement ? c.disagreement.problem : c.problem
            )
        }
      })
    }
})
