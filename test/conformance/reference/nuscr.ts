/**
 * Protocols of nuScr's test suite, translated (see scribble.ts for the notation; nuScr's `do P(roles)` of
 * the protocol being defined is `$.include($.self, renaming)`). nuScr's verdicts: its cram tests
 * (test/cram-tests) state them with the projections, written here in our notation; the files under
 * examples/ are accepted by its test runner (test/test.ml), those in a directory named errors refused.
 * Files whose verdict nuScr leaves open (UnImplemented: a choice or loop that is not last) are not used.
 */
import { Schema } from "effect"
import { Int, type ReferenceCase, Str, V } from "./case.ts"

const accept = (
  source: string,
  roles: ReadonlyArray<string>,
  steps: ReferenceCase["steps"],
  extra: Partial<ReferenceCase> = {}
): ReferenceCase => ({ source, verdict: "accept", roles, steps, ...extra })

const refuse = (
  source: string,
  roles: ReadonlyArray<string>,
  steps: ReferenceCase["steps"],
  problem: ReferenceCase["problem"]
): ReferenceCase => ({ source, verdict: "refuse", roles, steps, problem })

const AB = ["A", "B"]
const ABC = ["A", "B", "C"]
const Pair = Schema.Tuple([Int, Int])

export const nuscr: ReadonlyArray<ReferenceCase> = [
  accept(
    "test/cram-tests/core/merge-send.t/Merging.nuscr",
    ABC,
    ($) => [
      $.choice("A", {
        Foo: [$.message("A", "B", "Foo", V), $.message("C", "B", "Baz", V), $.message("B", "C", "Foo", V)],
        Bar: [$.message("A", "B", "Bar", V), $.message("C", "B", "Baz", V), $.message("B", "C", "Bar", V)]
      })
    ],
    { projections: { C: "B!Baz(). B?{Foo(). end, Bar(). end}" } }
  ),
  accept(
    "test/cram-tests/core/proj-not-involved.t/Loop.nuscr",
    ABC,
    ($) => [
      $.message("A", "B", "Foo", V),
      $.loop("Loop", [
        $.choice("A", {
          Bar: [$.message("A", "C", "Bar", V), $.continue("Loop")],
          Baz: [$.message("A", "C", "Baz", V), $.continue("Loop")],
          Qux: [$.message("A", "C", "Qux", V)]
        })
      ])
    ],
    {
      projections: {
        A: "B!Foo(). rec Loop. C!{Bar(). continue Loop, Baz(). continue Loop, Qux(). end}",
        B: "A?Foo(). end",
        C: "rec Loop. A?{Bar(). continue Loop, Baz(). continue Loop, Qux(). end}"
      }
    }
  ),
  accept(
    "test/cram-tests/core/degenerate-choice.t/DegenerateChoice.nuscr",
    AB,
    ($) => [$.choice("A", { Foo: [$.message("A", "B", "Foo", V)] })],
    { projections: { A: "B!Foo(). end", B: "A?Foo(). end" } }
  ),
  accept(
    "test/cram-tests/core/do-conversion.t/Do1.nuscr",
    AB,
    ($) => [$.message("A", "B", "Ping", V), $.message("B", "A", "Pong", V), $.include($.self)],
    { name: "PingPong", projections: { A: "rec PingPong. B!Ping(). B?Pong(). continue PingPong" } }
  ),
  accept(
    "test/cram-tests/core/do-conversion.t/Do2.nuscr",
    AB,
    ($) => [$.message("A", "B", "Ping", V), $.message("B", "A", "Pong", V), $.include($.self, { A: "B", B: "A" })],
    { name: "PingPong", projections: { A: "rec PingPong. B!Ping(). B?Pong(). B?Ping(). B!Pong(). continue PingPong" } }
  ),
  accept("test/cram-tests/core/do-conversion.t/DoMulti1.nuscr", ABC, ($) => [
    $.choice("A", {
      Foo: [$.message("A", "B", "Foo", V), $.message("B", "C", "Foo", V), $.include($.self)],
      Bar: [$.message("A", "B", "Bar", V), $.message("B", "C", "Bar", V), $.include($.self)]
    })
  ]),
  accept("test/cram-tests/core/do-conversion.t/DoMulti2.nuscr", ABC, ($) => [
    $.choice("A", {
      Foo: [
        $.message("A", "B", "Foo", V),
        $.message("B", "C", "Foo", V),
        $.include($.self, { A: "B", B: "C", C: "A" })
      ],
      Bar: [$.message("A", "B", "Bar", V), $.message("B", "C", "Bar", V), $.include($.self, { A: "B", B: "C", C: "A" })]
    })
  ]),
  accept("test/cram-tests/core/do-conversion.t/DoMulti3.nuscr", ABC, ($) => [
    $.choice("A", {
      Foo: [
        $.message("A", "B", "Foo", V),
        $.message("B", "C", "Foo", V),
        $.include($.self, { A: "B", B: "C", C: "A" })
      ],
      Bar: [$.message("A", "B", "Bar", V), $.message("B", "C", "Bar", V), $.include($.self, { A: "C", B: "A", C: "B" })]
    })
  ]),
  accept("examples/ChoiceRec.nuscr (Test)", ["C", "S", "D"], ($) => [
    $.message("C", "S", "m2", V),
    $.choice("C", {
      m: [$.message("C", "D", "m", V)],
      send: [$.loop("SEND", [$.message("C", "D", "m1", V), $.continue("SEND")])]
    })
  ]),
  accept("examples/ChoiceRec.nuscr (Test2)", ["C", "S"], ($) => [
    $.loop("X", [
      $.message("C", "S", "m", V),
      $.choice("C", { again: [$.continue("X")], fin: [$.message("C", "S", "fin", V)] })
    ])
  ]),
  accept("examples/ChoiceRec.nuscr (Test3)", ["X", "Y"], ($) => [
    $.loop("SEND", [
      $.choice("X", {
        m1: [$.message("X", "Y", "m1", V), $.continue("SEND")],
        m2: [
          $.message("X", "Y", "m2", V),
          $.loop("SEND2", [
            $.message("X", "Y", "end", V),
            $.choice("X", { send: [$.continue("SEND")], send2: [$.continue("SEND2")] })
          ])
        ]
      })
    ])
  ]),
  accept(
    "examples/NestChoice.nuscr",
    AB,
    ($) => [
      $.choice("A", {
        One: [$.message("A", "B", "One", V)],
        more: [$.choice("A", { Two: [$.message("A", "B", "Two", V)], Three: [$.message("A", "B", "Three", V)] })]
      })
    ],
    { projections: { B: "A?{One(). end, Two(). end, Three(). end}" } }
  ),
  accept("examples/TODO/SameRecVar.nuscr", AB, ($) => [
    $.choice("A", {
      m2: [$.loop("T1", [$.message("A", "B", "m2", V), $.continue("T1")])],
      m3: [$.loop("T1", [$.message("A", "B", "m3", V), $.continue("T1")])]
    })
  ]),
  accept("examples/from-scribble-java/test/test1/Test1.nuscr (Proto1)", ["C", "S"], ($) => [
    $.loop("X", [
      $.message("C", "S", "1", V),
      $.choice("C", {
        "2": [$.message("C", "S", "2", Int), $.message("S", "C", "3", Int), $.continue("X")],
        "4": [$.message("C", "S", "4", V)]
      })
    ])
  ]),
  accept("examples/from-scribble-java/test/test1/Test1.nuscr (Proto2)", ["C", "S"], ($) => [
    $.message("C", "S", "1", V),
    $.message("C", "S", "2", V)
  ]),
  accept("examples/from-scribble-java/test/test2/Test2.nuscr", AB, ($) => [
    $.choice("A", { "1": [$.message("A", "B", "1", Int)], "2": [$.message("A", "B", "2", Str)] })
  ]),
  accept("examples/from-scribble-java/test/test3/Test3.nuscr", ABC, ($) => [
    $.choice("A", {
      "1": [$.message("A", "B", "1", Int), $.message("B", "C", "2", Int), $.include($.self)],
      "3": [$.message("A", "B", "3", Str), $.message("B", "C", "4", Str)]
    })
  ]),
  accept("examples/from-scribble-java/test/test4/Test4.nuscr", AB, ($) => [
    $.choice("A", { Foo: [$.message("A", "B", "Foo", V), $.include($.self)], Bar: [$.message("A", "B", "Bar", V)] })
  ]),
  accept("examples/from-scribble-java/test/test6/Test6.nuscr", AB, ($) => [
    $.message("A", "B", "1", Int),
    $.message("B", "A", "2", Str),
    $.message("A", "B", "1", Int),
    $.message("B", "A", "2", Str)
  ]),
  accept(
    "examples/from-scribble-java/exercise/calculator/EProtocol.nuscr",
    ["S", "C"],
    ($) => [
      $.loop("Loop", [
        $.choice("C", {
          sum: [$.message("C", "S", "sum", Pair), $.message("S", "C", "result", Int), $.continue("Loop")],
          multiply: [$.message("C", "S", "multiply", Pair), $.message("S", "C", "result", Int), $.continue("Loop")],
          quit: [$.message("C", "S", "quit", V), $.message("S", "C", "terminate", V)]
        })
      ])
    ],
    {
      projections: {
        S: "rec Loop. C?{sum([number, number]). C!result(number). continue Loop, multiply([number, number]). C!result(number). continue Loop, quit(). C!terminate(). end}"
      }
    }
  ),
  accept("examples/annot/Adder.nuscr", ["C", "S"], ($) => [
    $.loop("Loop", [
      $.message("C", "S", "HELLO", Int),
      $.choice("C", {
        ADD: [
          $.message("C", "S", "ADD", Int),
          $.message("C", "S", "ADD", Int),
          $.message("S", "C", "RES", Int),
          $.continue("Loop")
        ],
        BYE: [$.message("C", "S", "BYE", V), $.message("S", "C", "BYE", V)]
      })
    ])
  ]),
  accept("examples/annot/Fib.nuscr", ["C", "S"], ($) => [
    $.message("C", "S", "HELLO", Int),
    $.choice("C", {
      ADD: [$.message("C", "S", "ADD", Int), $.message("S", "C", "RES", Int), $.include($.self)],
      BYE: [$.message("C", "S", "BYE", V), $.message("S", "C", "BYE", V)]
    })
  ]),
  accept(
    "examples/annot/ThreeBuyer.nuscr (TwoBuyer)",
    ["A", "B", "S"],
    ($) => [
      $.message("A", "S", "empty1", Int),
      $.message("S", "A", "empty2", Int),
      $.message("S", "B", "empty3", Int),
      $.message("A", "B", "empty4", Int),
      $.choice("B", {
        ok: [$.message("B", "A", "ok", Int), $.message("B", "S", "ok", Int), $.message("S", "B", "empty5", Int)],
        quit: [$.message("B", "A", "quit", V), $.message("B", "S", "quit", V)]
      })
    ],
    {
      projections: {
        S: "A?empty1(number). A!empty2(number). B!empty3(number). B?{ok(number). B!empty5(number). end, quit(). end}"
      }
    }
  ),
  refuse(
    "test/cram-tests/core/ambiguous-choice.t/Ambiguous.nuscr",
    AB,
    ($) => [
      $.choice("A", {
        m: [$.message("A", "B", "m", V)],
        again: [$.message("A", "B", "m", V), $.message("A", "B", "mm", V)]
      })
    ],
    "DuplicateLabel"
  ),
  refuse(
    "test/cram-tests/core/reflexive-message.t/ReflexiveMessage.nuscr",
    AB,
    ($) => [$.message("A", "A" as never, "Bye", V)],
    "SelfMessage"
  ),
  refuse(
    "test/cram-tests/core/unbound-recursion-name.t/UnboundRec.nuscr",
    AB,
    ($) => [$.loop("X", [$.message("A", "B", "Hello", V), $.loop("Y", [$.continue("Z")])])],
    "UnknownLoop"
  ),
  refuse(
    "test/cram-tests/core/unbound-role-name.t/UnboundRole.nuscr",
    AB,
    ($) => [$.message("A", "C" as never, "Hello", V)],
    "UnknownRole"
  ),
  refuse(
    "test/cram-tests/core/unguarded-recursion.t/UnguardedSimple.nuscr",
    AB,
    ($) => [$.loop("X", [$.continue("X")])],
    "UnguardedRecursion"
  ),
  refuse(
    "test/cram-tests/core/unguarded-recursion.t/UnguardedChoice.nuscr",
    AB,
    ($) => [$.loop("X", [$.choice("A", { again: [$.continue("X")], Foo: [$.message("A", "B", "Foo", V)] })])],
    "UnguardedRecursion"
  ),
  refuse(
    "test/cram-tests/core/unguarded-recursion.t/UnguardedDo.nuscr",
    AB,
    ($) => [$.include($.self)],
    "UnguardedRecursion"
  ),
  refuse(
    "test/cram-tests/core/unmergable-choice.t/Bad.nuscr",
    ABC,
    ($) => [
      $.choice("A", {
        m1: [$.message("A", "B", "m1", V)],
        m2: [$.message("A", "B", "m2", V), $.message("A", "C", "m3", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  refuse(
    "examples/errors/Scratch1.nuscr (Proto1)",
    ["C", "S"],
    ($) => [
      $.loop("X", [
        $.message("C", "S", "1", V),
        $.choice("C", {
          "2": [$.message("C", "S", "2", Int), $.message("S", "C", "3", Int), $.continue("X")],
          "4a": [$.message("C", "S", "4a", V), $.message("C", "S", "4b", V)],
          again: [$.message("C", "S", "4a", V), $.message("C", "S", "4b", V)]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  refuse(
    "examples/TODO/errors/MergeRec.nuscr",
    ["C", "S", "D"],
    ($) => [
      $.message("C", "S", "m2", V),
      $.choice("C", {
        m: [$.message("C", "D", "m", V), $.message("C", "S", "m1", V)],
        send: [$.loop("SEND", [$.message("C", "D", "m1", V), $.message("C", "S", "m2", V), $.continue("SEND")])]
      })
    ],
    "UnmergeableBranches"
  )
]
