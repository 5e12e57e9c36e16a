/**
 * Well-formedness: a protocol that cannot be projected, or whose roles could not follow it, is refused with
 * every problem listed, each saying where it is and what to do. (Making protocols and composing them:
 * `Choreography.test.ts`.)
 */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Choreography } from "../src/index.ts"

const problemsOf = (made: Effect.Effect<unknown, Choreography.ProtocolDefinitionError>) =>
  Effect.runSync(Effect.flip(made)).problems

/** Builds a protocol that is expected to be refused; `steps` bypasses the compile-time checks on purpose. */
const refuse = (roles: ReadonlyArray<string>, steps: ($: Choreography.Builder<string>) => ReadonlyArray<unknown>) =>
  problemsOf(Choreography.make("P", roles, steps as never))

describe("well-formedness", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly roles: ReadonlyArray<string>
    readonly steps: ($: Choreography.Builder<string>) => ReadonlyArray<unknown>
    readonly problem: Partial<Choreography.Problem>
  }> = [
    { name: "no roles", roles: [], steps: () => [], problem: { code: "NoRoles" } },
    {
      name: "a role declared twice",
      roles: ["A", "B", "A"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void)],
      problem: { code: "DuplicateRole", role: "A" }
    },
    {
      name: "an undeclared role",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.message("A", "C", "y", Schema.Void)],
      problem: { code: "UnknownRole", role: "C", path: ["message A -> C: y"] }
    },
    {
      name: "a message to oneself",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.message("A", "A", "y", Schema.Void)],
      problem: { code: "SelfMessage", role: "A", label: "y" }
    },
    {
      name: "an empty label",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "", Schema.Void)],
      problem: { code: "InvalidLabel" }
    },
    {
      name: "a message without a payload schema",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", "string" as never)],
      problem: { code: "MissingPayloadSchema", role: "A", label: "x" }
    },
    {
      name: "something that is not a step",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), { from: "A", to: "B" }],
      problem: { code: "InvalidStep", path: ["step 2"] }
    },
    {
      name: "a choice without branches",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.choice("A", {})],
      problem: { code: "EmptyChoice", role: "A" }
    },
    {
      name: "an empty branch",
      roles: ["A", "B"],
      steps: ($) => [$.choice("A", { go: [$.message("A", "B", "go", Schema.Void)], idle: [] })],
      problem: { code: "EmptyBranch", role: "A", branch: "idle" }
    },
    {
      name: "a chooser that does not send first",
      roles: ["A", "B"],
      steps: ($) => [
        $.choice("A", {
          go: [$.message("A", "B", "go", Schema.Void)],
          wait: [$.message("B", "A", "wait", Schema.Void)]
        })
      ],
      problem: { code: "ChooserNotFirst", role: "A", branch: "wait", label: "wait" }
    },
    {
      name: "branches that tell different roles",
      roles: ["A", "B", "C"],
      steps: ($) => [
        $.choice("A", {
          one: [$.message("A", "B", "one", Schema.Void)],
          two: [$.message("A", "C", "two", Schema.Void)]
        })
      ],
      problem: { code: "InconsistentChoiceReceiver", role: "C", branch: "two", label: "two" }
    },
    {
      name: "two branches with the same first label",
      roles: ["A", "B"],
      steps: ($) => [
        $.choice("A", {
          one: [$.message("A", "B", "go", Schema.Void)],
          two: [$.message("A", "B", "go", Schema.Void), $.message("B", "A", "back", Schema.Void)]
        })
      ],
      problem: { code: "DuplicateLabel", role: "A", branch: "two", label: "go" }
    },
    {
      name: "an empty loop",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.loop("X", [])],
      problem: { code: "EmptyLoop", path: ['loop "X"'] }
    },
    {
      name: "a loop inside a loop of the same name",
      roles: ["A", "B"],
      steps: ($) => [
        $.loop("X", [$.message("A", "B", "x", Schema.Void), $.loop("X", [$.message("B", "A", "y", Schema.Void)])])
      ],
      problem: { code: "ShadowedLoop", path: ['loop "X"', 'loop "X"'] }
    },
    {
      name: "a continue outside its loop",
      roles: ["A", "B"],
      steps: ($) => [$.loop("X", [$.message("A", "B", "x", Schema.Void)]), $.continue("X")],
      problem: { code: "UnknownLoop", path: ['continue "X"'] }
    },
    {
      name: "a continue with no message since the loop started",
      roles: ["A", "B"],
      steps: ($) => [$.loop("X", [$.message("A", "B", "x", Schema.Void), $.loop("Y", [$.continue("Y")])])],
      problem: { code: "UnguardedRecursion", path: ['loop "X"', 'loop "Y"', 'continue "Y"'] }
    },
    {
      name: "steps after end",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.end, $.message("B", "A", "y", Schema.Void)],
      problem: { code: "UnreachableStep", path: ["message B -> A: y"] }
    },
    {
      // Issue 12, finding 2: accepted before, with C projected to `end`.
      name: "steps after a loop that never ends (μX. A→B 1. X ; A→C 2)",
      roles: ["A", "B", "C"],
      steps: ($) => [
        $.loop("X", [$.message("A", "B", "1", Schema.Void), $.continue("X")]),
        $.message("A", "C", "2", Schema.Void)
      ],
      problem: {
        code: "UnreachableStep",
        path: ["message A -> C: 2"],
        message:
          'message A -> C: 2: this step can never run: the loop "X" before it never ends (every path through it continues a loop or ends)'
      }
    },
    {
      // Issue 12, finding 2: accepted before, C→D 3 silently lost.
      name: "steps after a loop whose every path continues it (μX. A→B 1. B→A 2. X ; C→D 3)",
      roles: ["A", "B", "C", "D"],
      steps: ($) => [
        $.loop("X", [$.message("A", "B", "1", Schema.Void), $.message("B", "A", "2", Schema.Void), $.continue("X")]),
        $.message("C", "D", "3", Schema.Void)
      ],
      problem: { code: "UnreachableStep", path: ["message C -> D: 3"] }
    },
    {
      name: "steps after a choice whose every branch ends or continues",
      roles: ["A", "B"],
      steps: ($) => [
        $.loop("X", [
          $.choice("A", {
            more: [$.message("A", "B", "more", Schema.Void), $.continue("X")],
            stop: [$.message("A", "B", "stop", Schema.Void), $.end]
          }),
          $.message("B", "A", "after", Schema.Void)
        ])
      ],
      problem: {
        code: "UnreachableStep",
        path: ['loop "X"', "message B -> A: after"],
        message:
          'loop "X" › message B -> A: after: this step can never run: every branch of the choice at A before it ends or continues a loop'
      }
    },
    {
      name: "steps after a loop nested in a loop that only continues the outer one",
      roles: ["A", "B"],
      steps: ($) => [
        $.loop("X", [
          $.message("A", "B", "x", Schema.Void),
          $.loop("Y", [$.message("A", "B", "y", Schema.Void), $.continue("X")]),
          $.message("B", "A", "never", Schema.Void)
        ])
      ],
      problem: { code: "UnreachableStep", path: ['loop "X"', "message B -> A: never"] }
    },
    {
      // Scribble refuses this (bad/reach/globals/grecursion/Recursion06b): `continue X` inside a choice
      // that steps follow in the loop; accepted before, with "after" run only when A stops.
      name: "a continue that steps follow in its loop",
      roles: ["A", "B"],
      steps: ($) => [
        $.loop("X", [
          $.choice("A", {
            more: [$.message("A", "B", "more", Schema.Void), $.continue("X")],
            stop: [$.message("A", "B", "stop", Schema.Void)]
          }),
          $.message("A", "B", "after", Schema.Void)
        ])
      ],
      problem: {
        code: "NonTailRecursion",
        path: ['loop "X"', "choice at A", 'branch "more"', 'continue "X"'],
        message:
          'loop "X" › choice at A › branch "more" › continue "X": continue "X" must be the last step of loop "X", but steps follow it in the loop (after an enclosing choice or loop): move them into the branches that do not continue'
      }
    },
    {
      // Scribble: bad/reach/globals/grecursion/Recursion17e (the continue is in a loop nested in X).
      name: "a continue of an outer loop that steps follow in it",
      roles: ["A", "B"],
      steps: ($) => [
        $.loop("Z", [
          $.choice("A", {
            "1": [$.message("A", "B", "1", Schema.Void)],
            "2": [$.loop("Y", [$.message("A", "B", "2", Schema.Void), $.continue("Z")])]
          }),
          $.message("A", "B", "4", Schema.Void)
        ])
      ],
      problem: { code: "NonTailRecursion", path: ['loop "Z"', "choice at A", 'branch "2"', 'loop "Y"', 'continue "Z"'] }
    },
    {
      name: "steps after a parallel part that never ends",
      roles: ["A", "B", "C", "D"],
      steps: ($) => [
        $.parallel(
          [$.loop("X", [$.message("A", "B", "x", Schema.Void), $.continue("X")])],
          [$.message("C", "D", "y", Schema.Void)]
        ),
        $.message("D", "C", "z", Schema.Void)
      ],
      problem: { code: "UnreachableStep", path: ["message D -> C: z"] }
    },
    {
      name: "a parallel step without parts",
      roles: ["A", "B"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void), $.parallel()],
      problem: { code: "EmptyParallel" }
    },
    {
      name: "parallel parts sharing a role",
      roles: ["A", "B", "C"],
      steps: ($) => [$.parallel([$.message("A", "B", "x", Schema.Void)], [$.message("C", "B", "y", Schema.Void)])],
      problem: { code: "OverlappingParallel", role: "B", path: ["parallel part 2"] }
    },
    {
      name: "end inside a parallel part",
      roles: ["A", "B", "C", "D"],
      steps: ($) => [
        $.parallel([$.message("A", "B", "x", Schema.Void), $.end], [$.message("C", "D", "y", Schema.Void)])
      ],
      problem: { code: "EndInParallel", path: ["parallel part 1", "end"] }
    },
    {
      name: "a parallel part continuing an outer loop",
      roles: ["A", "B", "C", "D"],
      steps: ($) => [
        $.loop("X", [
          $.message("A", "C", "go", Schema.Void),
          $.parallel([$.message("A", "B", "x", Schema.Void), $.continue("X")], [$.message("C", "D", "y", Schema.Void)])
        ])
      ],
      problem: { code: "ContinueOutOfParallel", path: ['loop "X"', "parallel part 1", 'continue "X"'] }
    },
    {
      name: "a declared role that takes no part",
      roles: ["A", "B", "Idle"],
      steps: ($) => [$.message("A", "B", "x", Schema.Void)],
      problem: { code: "UnusedRole", role: "Idle" }
    },
    {
      name: "a role that cannot learn the choice (C sends only in one branch)",
      roles: ["A", "B", "C"],
      steps: ($) => [
        $.choice("A", {
          l1: [$.message("A", "B", "l1", Schema.Void), $.message("C", "A", "x", Schema.String)],
          l2: [$.message("A", "B", "l2", Schema.Void)]
        })
      ],
      problem: { code: "UnmergeableBranches", role: "C", branch: "l2", label: "l2", path: ["choice at A"] }
    },
    {
      name: "a role that would learn the choice from two different senders",
      roles: ["A", "B", "C"],
      steps: ($) => [
        $.choice("A", {
          l1: [$.message("A", "B", "l1", Schema.Void), $.message("A", "C", "x", Schema.Void)],
          l2: [$.message("A", "B", "l2", Schema.Void), $.message("B", "C", "y", Schema.Void)]
        })
      ],
      problem: { code: "UnmergeableBranches", role: "C", branch: "l2" }
    },
    {
      name: "a shared label with different payload schemas",
      roles: ["A", "B", "C"],
      steps: ($) => [
        $.choice("A", {
          l1: [$.message("A", "B", "l1", Schema.Void), $.message("B", "C", "x", Schema.String)],
          l2: [$.message("A", "B", "l2", Schema.Void), $.message("B", "C", "x", Schema.Number)]
        })
      ],
      problem: { code: "UnmergeableBranches", role: "C", branch: "l2" }
    }
  ]

  for (const { name, roles, steps, problem } of cases) {
    it(`refuses ${name}`, () => {
      const problems = refuse(roles, steps)
      expect(problems).toContainEqual(expect.objectContaining(problem))
    })
  }

  it("names a step after a continue in its list once: unreachable (not also a continue that steps follow)", () => {
    const problems = refuse(["A", "B"], ($) => [
      $.loop("X", [$.message("A", "B", "l1", Schema.Void), $.continue("X"), $.message("A", "B", "l2", Schema.Void)])
    ])
    expect(problems.map((p) => p.code)).toEqual(["UnreachableStep"])
  })

  it("lists every problem, each message saying where", () => {
    const error = Effect.runSync(
      Effect.flip(
        Choreography.make("Broken", ["A", "B", "Idle"], ($) => [
          $.choice("A", {
            go: [$.message("A", "B", "go", Schema.Void)],
            two: [$.message("A", "B", "go", Schema.Void)],
            late: [$.message("B", "A", "late", Schema.Void)]
          })
        ])
      )
    )
    expect(error.problems.map((p) => p.code)).toEqual(["DuplicateLabel", "ChooserNotFirst", "UnusedRole"])
    // Each problem is followed by where it was written (see Sources.test.ts): the branch's first message, or
    // for the unused role, the make call.
    const at = (p: (typeof error.problems)[number]) => `    at ${p.source?.file}:${p.source?.line}:${p.source?.column}`
    expect(error.message).toBe(
      [
        'Protocol "Broken" is not well-formed:',
        '  - choice at A › branch "two": branches "go" and "two" both start with label "go": A\'s choice would be ambiguous',
        at(error.problems[0]!),
        '  - choice at A › branch "late": A chooses, so it must send the first message of branch "late", but the branch starts with message B -> A: late',
        at(error.problems[1]!),
        "  - top level: role Idle is declared but takes part in no message",
        at(error.problems[2]!)
      ].join("\n")
    )
    expect(error.problems.map((p) => p.source?.file.endsWith("WellFormedness.test.ts"))).toEqual([true, true, true])
  })

  it("explains an unmergeable choice with both behaviours", () => {
    const [problem] = refuse(["A", "B", "C"], ($) => [
      $.choice("A", {
        l1: [$.message("A", "B", "l1", Schema.Void), $.message("C", "A", "x", Schema.String)],
        l2: [$.message("A", "B", "l2", Schema.Void)]
      })
    ])
    expect(problem?.message).toBe(
      'choice at A: role C cannot learn which branch A chose: in branch "l1" it does `A!x(string). end` but in ' +
        'branch "l2" it does `end`. A role outside a choice must act the same in every branch, or first receive ' +
        "from one sender a message whose label differs between the branches."
    )
  })
})
