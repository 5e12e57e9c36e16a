/**
 * More protocols of Scribble's test suite (scribble-java, scribble-test/src/test/resources): the files of
 * the directories below whose module holds one global protocol of messages without payloads, choices and
 * loops only (no `do`, no `par`), and that scribble.ts does not have, translated as scribble.ts describes (a
 * branch that does not start with a message is named b<i>), with Scribble's verdict: good/ accepted, bad/
 * refused. Scribble refuses the bad ones for safety, liveness or enabling reasons of its own; the problem
 * is the one we name.
 *
 * Directories: efsm/grecursion, liveness, safety (orphan, stuckmsg, waitfor), wfchoice/enabling,
 * syntax/inlinedunfolding/grecursion. The files of these directories where we answer otherwise are here too
 * (`differ`), each a conservative refusal of one of the kinds explained below; two more, where nuScr's
 * merge accepts what Scribble refuses, are in scribble.ts.
 */
import type { Choreography } from "@troupe/runtime"
import { type ReferenceCase, V } from "./case.ts"
import { bad, good } from "./scribble.ts"

/** Why we refuse what Scribble accepts, by the problem we name. */
const why: Partial<Record<Choreography.Problem["code"], string>> = {
  UnmergeableBranches:
    "a role outside the choice acts alike in every branch only once a loop is unfolded (`continue X` against the loop's body): Scribble's automata see that; nuScr's merge, which we follow, compares the projections as written (it refuses a loop against a move too: examples/TODO/errors/MergeRec.nuscr). Refusing is conservative",
  DuplicateLabel:
    "branches that start with the same message: Scribble reads the choice as non-deterministic and joins the branches in its automata; nuScr refuses a label twice (cram test ambiguous-choice.t), as we do. Refusing is conservative",
  UnreachableStep:
    "steps after a loop that never ends, of roles the loop does not involve: Scribble lets them go ahead; issue 12 (finding 2) asks to refuse steps after a loop that never ends, as Scribble does when the loop involves the roles (Recursion19a). Refusing is conservative",
  ShadowedLoop:
    "a loop inside a loop of the same name: Scribble lets the inner one hide the outer; we ask for another name. Refusing is conservative"
}

const differ = (
  source: string,
  roles: ReadonlyArray<string>,
  steps: ReferenceCase["steps"],
  problem: Choreography.Problem["code"]
): ReferenceCase => ({
  source: `scribble-test/src/test/resources/good/${source}`,
  verdict: "accept",
  roles,
  steps,
  disagreement: { problem, why: why[problem]! }
})

export const scribbleSuite: ReadonlyArray<ReferenceCase> = [
  bad(
    "efsm/grecursion/unfair/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("Y", [
        $.choice("A", {
          b0: [
            $.loop("X", [
              $.choice("A", {
                "1": [$.message("A", "B", "1", V), $.continue("X")],
                "2": [$.message("A", "C", "2", V), $.continue("Y")],
                "3": [$.message("A", "B", "3", V), $.message("A", "C", "3", V)]
              })
            ])
          ],
          "4": [$.message("A", "B", "4", V), $.continue("Y")]
        })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "efsm/grecursion/unfair/Test11b.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [$.message("B", "A", "2", V), $.continue("X")],
              "3": [$.message("B", "A", "3", V), $.message("B", "C", "4", V), $.continue("X")]
            })
          ]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "efsm/grecursion/unfair/Test11c.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [$.message("B", "A", "2", V)],
              "3": [$.message("B", "A", "3", V), $.message("B", "C", "4", V)]
            }),
            $.continue("X")
          ]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/messagelive/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("A", "B", "2", V), $.message("B", "C", "2", V)],
        "1~": [
          $.message("A", "B", "1", V),
          $.loop("X", [$.message("B", "C", "4", V), $.message("C", "B", "5", V), $.continue("X")])
        ]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "liveness/messagelive/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.message("A", "B", "1", V),
      $.choice("B", {
        b0: [$.loop("X", [$.message("B", "C", "2", V), $.continue("X")])],
        "3": [$.message("B", "C", "3", V)]
      }),
      $.message("A", "C", "4", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/messagelive/Test03a.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        b0: [$.loop("X", [$.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")] })])],
        "2": [$.message("A", "B", "2", V)]
      }),
      $.message("C", "B", "2", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/messagelive/unfair/Test03b.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        b0: [
          $.loop("X", [
            $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")], _: [$.message("A", "B", "_", V)] })
          ])
        ],
        "2": [$.message("A", "B", "2", V)]
      }),
      $.message("C", "B", "2", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        b0: [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")])],
        "2": [$.message("A", "B", "2", V), $.message("A", "C", "2", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.message("A", "B", "1", V),
      $.choice("B", {
        b0: [$.loop("X", [$.message("B", "C", "2", V), $.continue("X")])],
        "3": [$.message("B", "C", "3", V)]
      }),
      $.message("C", "A", "4", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/Test03a.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        b0: [$.loop("X", [$.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")] })])],
        "2": [$.message("A", "B", "2", V), $.message("B", "C", "2", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/Test03b.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        b0: [
          $.loop("X", [
            $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")], _: [$.message("A", "B", "_", V)] })
          ])
        ],
        "2": [$.message("A", "B", "2", V), $.message("B", "C", "2", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("B", "C", "1", V)],
          "2": [$.message("A", "B", "2", V), $.continue("X")]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("A", "C", "1", V),
        $.choice("A", {
          "1": [$.message("A", "C", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.message("A", "C", "2", V)]
        })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "liveness/roleprog/unfair/Test03a.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.continue("X")]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test03b.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V)],
          "2": [$.message("A", "B", "2", V)]
        }),
        $.continue("X")
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test04a.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [
                $.message("B", "C", "2", V),
                $.choice("C", {
                  "2": [$.message("C", "A", "2", V), $.continue("X")],
                  "3": [$.message("C", "A", "3", V), $.message("C", "D", "3", V), $.continue("X")]
                })
              ]
            })
          ])
        ],
        "0": [$.message("A", "B", "0", V), $.message("B", "C", "0", V), $.message("C", "D", "0", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test04b.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [
                $.message("B", "C", "2", V),
                $.choice("C", {
                  "2": [$.message("C", "A", "2", V)],
                  "3": [$.message("C", "A", "3", V), $.message("C", "D", "3", V)]
                }),
                $.continue("X")
              ]
            })
          ])
        ],
        "0": [$.message("A", "B", "0", V), $.message("B", "C", "0", V), $.message("C", "D", "0", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "liveness/roleprog/unfair/Test05.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("B", "C", "2", V),
            $.choice("C", {
              "2": [$.message("C", "A", "2", V)],
              _: [$.message("C", "A", "_", V), $.message("C", "D", "_", V)]
            }),
            $.continue("X")
          ])
        ]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "safety/orphan/threeparty/Test01a.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("B", "C", "2", V), $.message("B", "C", "3", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/orphan/threeparty/Test01b.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("A", "B", "4", V), $.message("B", "C", "2", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/orphan/threeparty/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("A", "C", "3", V), $.continue("X")],
          "1~": [$.message("A", "B", "1", V), $.message("A", "C", "4", V)]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/orphan/threeparty/Test03.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V), $.message("B", "C", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("A", "C", "1", V), $.message("C", "B", "2", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/orphan/twoparty/Test01.scr",
    ["A", "B"],
    ($) => [
      $.loop("X", [
        $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")], "1~": [$.message("A", "B", "1", V)] })
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/orphan/twoparty/Test02.scr",
    ["A", "B"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "A", "1", V), $.message("A", "B", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("B", "A", "1", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/stuckmsg/fourparty/Test01.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [
                $.message("B", "C", "2", V),
                $.message("C", "D", "2", V),
                $.choice("C", {
                  "2": [$.message("C", "A", "2", V)],
                  _: [$.message("C", "A", "_", V), $.message("C", "D", "2", V), $.message("C", "D", "_", V)]
                }),
                $.continue("X")
              ]
            })
          ])
        ],
        "0": [$.message("A", "B", "0", V), $.message("B", "C", "0", V), $.message("C", "D", "0", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "safety/stuckmsg/fourparty/Test02a.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.loop("X", [$.message("A", "B", "1", V), $.continue("X")]),
      $.choice("C", {
        "2": [$.message("C", "D", "2", V), $.message("D", "C", "3", V)],
        "2~": [$.message("C", "D", "2", V), $.message("D", "C", "4", V)]
      })
    ],
    "UnreachableStep"
  ),
  bad(
    "safety/stuckmsg/fourparty/Test02b.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "A", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("B", "A", "3", V)]
      }),
      $.loop("X", [$.message("C", "D", "4", V), $.continue("X")])
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/stuckmsg/threeparty/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("A", "B", "2", V),
        $.choice("A", {
          "1": [$.message("A", "C", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.message("A", "C", "2", V)]
        })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "safety/stuckmsg/threeparty/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("A", "C", "3", V), $.continue("X")],
          "1~": [$.message("A", "B", "1", V), $.message("A", "B", "2", V), $.message("A", "C", "4", V)]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/stuckmsg/threeparty/Test03.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.message("B", "C", "1", V),
        $.choice("B", {
          "2": [$.message("B", "A", "2", V), $.continue("X")],
          "3": [$.message("B", "A", "3", V), $.message("B", "C", "1", V), $.message("B", "C", "3", V), $.continue("X")]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "safety/stuckmsg/twoparty/Test01a.scr",
    ["A", "B"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V)],
        "1~": [$.message("A", "B", "1", V), $.message("A", "B", "2", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/stuckmsg/twoparty/Test01b.scr",
    ["A", "B"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.continue("X")],
          "1~": [$.message("A", "B", "1", V), $.message("A", "B", "2", V), $.continue("X")]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/stuckmsg/twoparty/Test04.scr",
    ["A", "B"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "A", "2", V)],
        "1~": [$.message("A", "B", "1", V), $.message("B", "A", "3", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/waitfor/threeparty/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")], "2": [$.message("A", "C", "2", V)] })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "safety/waitfor/threeparty/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("A", { "1": [$.message("A", "C", "1", V), $.continue("X")], "3": [$.message("A", "C", "3", V)] })
          ],
          "2": [$.message("A", "C", "2", V), $.message("A", "B", "2", V)]
        })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "safety/waitfor/threeparty/Test03.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "1", V)],
        "2": [$.message("A", "B", "2", V)]
      }),
      $.message("C", "B", "2", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "safety/waitfor/threeparty/Test04.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V), $.message("C", "B", "1", V)],
        "1~": [
          $.message("A", "B", "1", V),
          $.message("A", "B", "2", V),
          $.message("A", "C", "2", V),
          $.message("C", "B", "2", V)
        ]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "safety/waitfor/threeparty/Test05.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V)],
        "2": [$.message("A", "B", "2", V), $.message("A", "C", "4", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "safety/waitfor/twoparty/Test01.scr",
    ["A", "B"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.message("B", "A", "1", V),
          $.message("A", "B", "2", V),
          $.message("A", "B", "2", V),
          $.message("B", "A", "3", V),
          $.message("B", "A", "3", V)
        ],
        "1~": [
          $.message("A", "B", "1", V),
          $.message("B", "A", "1", V),
          $.message("B", "A", "3", V),
          $.message("B", "A", "3", V),
          $.message("A", "B", "2", V),
          $.message("A", "B", "2", V)
        ]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/enabling/fourparty/Test01.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("B", "C", "2", V),
            $.choice("C", {
              "2": [$.message("C", "A", "2", V), $.continue("X")],
              _: [$.message("C", "A", "_", V), $.message("C", "D", "_", V), $.continue("X")]
            })
          ])
        ]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "wfchoice/enabling/threeparty/Test02.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("B", "C", "1", V),
        $.choice("A", {
          "1": [$.message("A", "C", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.message("A", "C", "2", V)]
        })
      ])
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "wfchoice/enabling/threeparty/Test03a.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("B", { "1": [$.message("B", "C", "1", V), $.continue("X")], "3": [$.message("B", "C", "3", V)] })
          ],
          "2": [$.message("A", "B", "2", V), $.message("B", "C", "2", V)]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  bad(
    "wfchoice/enabling/twoparty/Test01a.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.loop("X", [$.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")] }), $.message("C", "D", "1", V)])
    ],
    "NonTailRecursion"
  ),
  bad(
    "wfchoice/enabling/twoparty/Test01c.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.continue("X")]
        }),
        $.message("C", "D", "3", V)
      ])
    ],
    "NonTailRecursion"
  ),
  good("efsm/grecursion/Test03.scr", ["A", "B"], ($) => [
    $.message("A", "B", "0", V),
    $.loop("X", [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "A", "2", V), $.continue("X")],
        "3": [$.message("A", "B", "3", V)]
      })
    ]),
    $.message("A", "B", "4", V)
  ]),
  good("efsm/grecursion/Test05.scr", ["A", "B"], ($) => [
    $.message("A", "B", "1", V),
    $.message("B", "A", "2", V),
    $.choice("B", { "3": [$.message("B", "A", "3", V)], "4": [$.message("B", "A", "4", V)] }),
    $.loop("X", [
      $.choice("A", {
        "5": [$.message("A", "B", "5", V), $.message("B", "A", "6", V), $.continue("X")],
        "6": [$.message("A", "B", "6", V)]
      })
    ])
  ]),
  good("efsm/grecursion/Test06b.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", {
        "4": [$.message("A", "B", "4", V), $.loop("Y", [$.message("A", "B", "3", V), $.continue("X")])],
        "2": [$.message("A", "B", "2", V)]
      })
    ])
  ]),
  good("efsm/grecursion/Test07.scr", ["C", "S"], ($) => [
    $.loop("XXX", [
      $.choice("C", {
        "1": [$.message("C", "S", "1", V)],
        LIST: [
          $.message("C", "S", "LIST", V),
          $.choice("S", {
            OK: [
              $.message("S", "C", "OK", V),
              $.loop("summary_choice_list", [
                $.choice("S", {
                  DOT: [$.message("S", "C", "DOT", V)],
                  SUM: [$.message("S", "C", "SUM", V), $.continue("summary_choice_list")]
                })
              ])
            ],
            ERR: [$.message("S", "C", "ERR", V)]
          }),
          $.continue("XXX")
        ]
      })
    ])
  ]),
  good("efsm/grecursion/Test08.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.loop("Y", [
        $.choice("A", { "1": [$.message("A", "B", "1", V)], "2": [$.message("A", "B", "2", V), $.continue("Y")] })
      ]),
      $.continue("X")
    ])
  ]),
  good("efsm/grecursion/Test09.scr", ["A", "B", "C"], ($) => [
    $.message("A", "B", "1", V),
    $.message("A", "C", "2", V),
    $.loop("X", [
      $.choice("A", { "3": [$.message("A", "B", "3", V)] }),
      $.choice("A", {
        b0: [
          $.loop("Y", [
            $.choice("A", {
              "3": [$.message("A", "B", "3", V), $.continue("X")],
              "4": [$.message("A", "B", "4", V), $.continue("Y")],
              "5": [$.message("A", "B", "5", V)]
            })
          ])
        ]
      })
    ])
  ]),
  good("efsm/grecursion/Test10.scr", ["A", "B"], ($) => [
    $.choice("A", { "1": [$.message("A", "B", "1", V), $.loop("X", [$.message("B", "A", "2", V), $.continue("X")])] })
  ]),
  good("efsm/grecursion/Test11a.scr", ["A", "B", "C"], ($) => [
    $.loop("X", [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.choice("B", {
            "2": [$.message("B", "A", "2", V), $.message("B", "C", "4", V), $.continue("X")],
            "3": [$.message("B", "A", "3", V), $.message("B", "C", "4", V), $.continue("X")]
          })
        ]
      })
    ])
  ]),
  good("efsm/grecursion/Test12.scr", ["A", "B"], ($) => [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")])]),
  good("efsm/grecursion/choiceunguarded/Test04.scr", ["A", "B"], ($) => [
    $.choice("A", {
      b0: [
        $.loop("X", [
          $.choice("A", {
            "1": [$.message("A", "B", "1", V), $.continue("X")],
            "2": [$.message("A", "B", "2", V), $.continue("X")]
          })
        ])
      ]
    })
  ]),
  good("efsm/grecursion/choiceunguarded/Test06a.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", {
        b0: [$.loop("Y", [$.message("A", "B", "3", V), $.continue("X")])],
        "2": [$.message("A", "B", "2", V)]
      })
    ])
  ]),
  good("liveness/Test01.scr", ["A", "B", "C", "D"], ($) => [
    $.choice("A", {
      "1": [$.message("A", "B", "1", V), $.message("B", "A", "2", V)],
      "2": [$.message("A", "B", "2", V), $.message("B", "A", "3", V)]
    }),
    $.loop("X", [$.message("C", "D", "4", V), $.continue("X")])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test01.scr", ["A", "B"], ($) => [
    $.choice("A", {
      b0: [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")])],
      "2": [$.message("A", "B", "2", V)]
    })
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02a.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", { b0: [$.continue("X")], b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("Y")])] })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02b.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.choice("A", {
        "3": [$.message("A", "B", "3", V), $.continue("X")],
        b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("Y")])]
      })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02c.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", {
        "3": [$.message("A", "B", "3", V), $.continue("X")],
        b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("Y")])]
      })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02d.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", { b0: [$.continue("X")], b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("X")])] })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02e.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.choice("A", {
        "3": [$.message("A", "B", "3", V), $.continue("X")],
        b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("X")])]
      })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test02f.scr", ["A", "B"], ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", {
        "3": [$.message("A", "B", "3", V), $.continue("X")],
        b1: [$.loop("Y", [$.message("A", "B", "2", V), $.continue("X")])]
      })
    ])
  ]),
  good("syntax/inlinedunfolding/grecursion/Test04.scr", ["A", "B"], ($) => [
    $.choice("A", {
      b0: [
        $.loop("X", [
          $.choice("A", {
            "1": [$.message("A", "B", "1", V), $.continue("X")],
            "2": [$.message("A", "B", "2", V), $.continue("X")]
          })
        ])
      ]
    })
  ]),
  differ(
    "efsm/grecursion/choiceunguarded/Test07.scr",
    ["A", "B"],
    ($) => [
      $.loop("X", [
        $.message("A", "B", "0", V),
        $.choice("A", {
          b0: [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")])],
          "2": [$.message("A", "B", "2", V)]
        })
      ])
    ],
    "ShadowedLoop"
  ),
  differ(
    "liveness/Test02.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.loop("X", [$.message("A", "B", "1", V), $.message("B", "A", "2", V), $.continue("X")]),
      $.message("C", "D", "3", V)
    ],
    "UnreachableStep"
  ),
  differ(
    "liveness/roleprog/Test03.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.message("B", "C", "1", V),
        $.choice("B", {
          "2": [$.message("B", "A", "2", V), $.continue("X")],
          "3": [$.message("B", "A", "3", V), $.message("B", "C", "1", V), $.continue("X")]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  differ(
    "safety/orphan/twoparty/Test01.scr",
    ["A", "B"],
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.continue("X")],
          "1~": [$.message("A", "B", "1", V), $.message("A", "B", "1", V), $.continue("X")]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  differ(
    "safety/stuckmsg/fourparty/Test01.scr",
    ["A", "B", "C", "D"],
    ($) => [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.loop("X", [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "2": [
                $.message("B", "C", "2", V),
                $.message("C", "D", "2", V),
                $.choice("C", {
                  "2": [$.message("C", "A", "2", V)],
                  _: [$.message("C", "A", "_", V), $.message("C", "D", "2", V)]
                }),
                $.continue("X")
              ]
            })
          ])
        ],
        "0": [$.message("A", "B", "0", V), $.message("B", "C", "0", V), $.message("C", "D", "0", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  differ(
    "safety/stuckmsg/threeparty/Test01.scr",
    ["A", "B", "C"],
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "1", V)],
        "1~": [$.message("A", "B", "1", V), $.message("B", "C", "2", V)]
      })
    ],
    "DuplicateLabel"
  ),
  differ(
    "safety/stuckmsg/threeparty/Test03.scr",
    ["A", "B", "C"],
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.message("B", "C", "1", V),
        $.choice("B", {
          "2": [$.message("B", "A", "2", V), $.continue("X")],
          "3": [$.message("B", "A", "3", V), $.message("B", "C", "1", V), $.continue("X")]
        })
      ])
    ],
    "UnmergeableBranches"
  ),
  differ(
    "safety/stuckmsg/twoparty/Test02.scr",
    ["A", "B"],
    ($) => [$.choice("A", { "1": [$.message("A", "B", "1", V)], "1~": [$.message("A", "B", "1", V)] })],
    "DuplicateLabel"
  )
]
