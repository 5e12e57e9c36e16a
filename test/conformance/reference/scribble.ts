/**
 * Protocols of Scribble's test suite (scribble-java, scribble-test/src/test/resources), translated: a message
 * `l(T) from A to B` is `$.message("A", "B", "l", T)`; `choice at A { … } or { … }` a choice whose branches
 * are named after their first label (free names for branches that start with a choice, loop or continue);
 * `rec X { … }` / `continue X` a loop; an empty label `()` is `_`. Scribble files under good/ are accepted by
 * Scribble, those under bad/ refused.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"
import { Int, type ReferenceCase, Str, V } from "./case.ts"

export const good = (
  source: string,
  roles: ReadonlyArray<string>,
  steps: ReferenceCase["steps"],
  extra: Partial<ReferenceCase> = {}
): ReferenceCase => ({
  source: `scribble-test/src/test/resources/good/${source}`,
  verdict: "accept",
  roles,
  steps,
  ...extra
})

export const bad = (
  source: string,
  roles: ReadonlyArray<string>,
  steps: ReferenceCase["steps"],
  problem: ReferenceCase["problem"]
): ReferenceCase => ({
  source: `scribble-test/src/test/resources/bad/${source}`,
  verdict: "refuse",
  roles,
  steps,
  problem
})

const AB = ["A", "B"]
const ABC = ["A", "B", "C"]

/** Scribble's reach/globals/gdo/Test06c.scr: `Bar(C, D)`, which includes itself. */
const Bar = Choreography.makeUnsafe("Bar", ["C", "D"], ($) => [$.message("C", "D", "5", V), $.include($.self)])

export const scribble: ReadonlyArray<ReferenceCase> = [
  good("misc/globals/gchoice/Choice01.scr", AB, ($) => [
    $.choice("A", { l1: [$.message("A", "B", "l1", V)], l2: [$.message("A", "B", "l2", V)] })
  ]),
  good("misc/globals/gchoice/Choice02.scr", AB, ($) => [$.choice("A", { l1: [$.message("A", "B", "l1", V)] })]),
  good("misc/globals/gchoice/Choice03.scr", AB, ($) => [
    $.message("A", "B", "l1", V),
    $.choice("B", { l1: [$.message("B", "A", "l1", V)], l2: [$.message("B", "A", "l2", V)] })
  ]),
  good("misc/globals/gchoice/Choice04.scr", AB, ($) => [
    $.choice("B", {
      l1: [$.message("B", "A", "l1", V), $.message("A", "B", "l2", V)],
      l2: [$.message("B", "A", "l2", V), $.message("A", "B", "l1", V), $.message("A", "B", "l2", V)]
    })
  ]),
  good("misc/globals/gchoice/Choice05a.scr", AB, ($) => [
    $.choice("B", {
      l1: [
        $.message("B", "A", "l1", V),
        $.choice("A", { l1: [$.message("A", "B", "l1", V)], l2: [$.message("A", "B", "l2", V)] })
      ],
      more: [$.choice("B", { l2: [$.message("B", "A", "l2", V)], l3: [$.message("B", "A", "l3", V)] })]
    })
  ]),
  good("misc/globals/gchoice/Choice06.scr", AB, ($) => [
    $.choice("A", { l1: [$.message("A", "B", "l1", V)], _: [$.message("A", "B", "_", V)] }),
    $.message("A", "B", "l1", V),
    $.message("A", "B", "_", V),
    $.choice("A", {
      l1: [$.message("A", "B", "l1", V), $.message("A", "B", "_", V)],
      _: [$.message("A", "B", "_", V)]
    }),
    $.message("A", "B", "2", V)
  ]),
  good(
    "misc/globals/gchoice/Choice08.scr",
    ABC,
    ($) => [
      $.choice("A", {
        l1: [$.message("A", "B", "l1", V), $.message("B", "C", "l2", V)],
        l2: [$.message("A", "B", "l2", V), $.message("B", "C", "l1", V), $.message("B", "C", "l2", V)]
      }),
      $.message("A", "C", "l2", V)
    ],
    { projections: { C: "B?{l2(). A?l2(). end, l1(). B?l2(). A?l2(). end}" } }
  ),
  good(
    "wfchoice/merge/Test01.scr",
    ABC,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "3", V)],
        "2": [$.message("A", "B", "2", V), $.message("B", "C", "3", V)]
      })
    ],
    { projections: { C: "B?3(). end" } }
  ),
  good("wfchoice/merge/Test02.scr", ABC, ($) => [
    $.choice("A", {
      "1": [$.message("A", "B", "1", V), $.message("B", "C", "2", V), $.message("A", "B", "4", V)],
      "3": [$.message("A", "B", "3", V), $.message("B", "C", "2", V), $.message("A", "B", "5", V)]
    })
  ]),
  good("wfchoice/merge/Test03.scr", ABC, ($) => [
    $.choice("A", {
      "1": [$.message("A", "B", "1", V), $.message("B", "C", "1", V)],
      "2": [$.message("A", "B", "2", V), $.message("B", "C", "1", V)]
    }),
    $.message("C", "B", "2", V)
  ]),
  good(
    "wfchoice/merge/Test04a.scr",
    ABC,
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.message("B", "C", "2", V),
        $.message("B", "C", "3", V),
        $.choice("A", {
          "4": [$.message("A", "B", "4", V), $.continue("X")],
          "5": [$.message("A", "B", "5", V), $.message("B", "C", "2", V), $.message("B", "C", "3", V), $.continue("X")]
        })
      ])
    ],
    {
      disagreement: {
        problem: "UnmergeableBranches",
        why: "C is outside A's choice and learns it only after the loop starts again: Scribble's automata accept it, since what follows tells the role; nuScr's merge, which we follow, needs the role's projections of the branches to be equal or to start with receives of different labels from one sender, and `continue X` and `B?2(). B?3(). continue X` differ. Refusing is conservative"
      }
    }
  ),
  good(
    "wfchoice/merge/Test04b.scr",
    ABC,
    ($) => [
      $.loop("X", [
        $.loop("Y", [
          $.message("A", "B", "1", V),
          $.message("A", "C", "2", V),
          $.choice("C", {
            "3": [$.message("C", "A", "3", V), $.continue("X")],
            "4": [
              $.message("C", "A", "4", V),
              $.message("A", "B", "1", V),
              $.message("A", "B", "1", V),
              $.continue("Y")
            ]
          })
        ])
      ])
    ],
    {
      disagreement: {
        problem: "UnmergeableBranches",
        why: "B is outside C's choice and learns it only from A's next message: Scribble's automata accept it, since what follows tells the role; nuScr's merge, which we follow, needs the role's projections of the branches to be equal or to start with receives of different labels from one sender, and `continue X` and `A?1(). A?1(). continue Y` differ. Refusing is conservative"
      }
    }
  ),
  good(
    "wfchoice/merge/Test05.scr",
    AB,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "A", "1", V), $.message("A", "B", "2", V)],
        again: [$.message("A", "B", "1", V), $.message("B", "A", "1", V), $.message("A", "B", "2", V)]
      })
    ],
    {
      disagreement: {
        problem: "DuplicateLabel",
        why: "both branches start with the same label: Scribble accepts two identical branches as one (its automata are determinised); we refuse a choice whose branches B cannot tell apart, which is never unsound"
      }
    }
  ),
  good("wfchoice/merge/Test06.scr", ABC, ($) => [
    $.choice("A", {
      Msg1a: [
        $.message("A", "B", "Msg1a", Str),
        $.message("B", "C", "Msg2", Int),
        $.message("C", "A", "Msg3", Schema.Boolean)
      ],
      Msg1b: [
        $.message("A", "B", "Msg1b", Int),
        $.message("B", "C", "Msg2", Int),
        $.message("C", "A", "Msg3", Schema.Boolean)
      ]
    })
  ]),
  good("wfchoice/gchoice/Choice09b.scr", ABC, ($) => [
    $.message("A", "C", "3", V),
    $.loop("Y", [
      $.message("A", "B", "_", V),
      $.message("B", "A", "2a", V),
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.choice("A", {
          "2": [$.message("A", "B", "2", V), $.continue("X")],
          x: [$.continue("X")],
          y: [$.continue("Y")],
          "4": [$.message("A", "B", "4", V)]
        })
      ])
    ])
  ]),
  good("wfchoice/gchoice/Choice10.scr", AB, ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.choice("A", {
        again: [$.continue("X")],
        inner: [
          $.loop("Y", [
            $.message("A", "B", "2", V),
            $.choice("A", {
              out: [$.continue("X")],
              "2": [$.message("A", "B", "2", V)],
              "3": [$.message("A", "B", "3", V), $.continue("Y")]
            })
          ])
        ]
      })
    ])
  ]),
  good(
    "wfchoice/gchoice/Choice11.scr",
    ABC,
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.choice("A", {
          "1": [$.message("A", "C", "1", V), $.continue("X")],
          "2": [$.message("A", "B", "2", V), $.message("A", "C", "2", V)]
        })
      ])
    ],
    {
      disagreement: {
        problem: "InconsistentChoiceReceiver",
        why: "A tells its choice to C in one branch and to B in the other: Scribble allows it (every role still learns the branch); we require every branch to start with a message to the same role, as nuScr does"
      }
    }
  ),
  good(
    "efsm/gcontinue/choiceunguarded/Test01a.scr",
    AB,
    ($) => [$.loop("X", [$.message("A", "B", "1", V), $.choice("A", { a: [$.continue("X")], b: [$.continue("X")] })])],
    {
      disagreement: {
        problem: "DuplicateLabel",
        why: "both branches continue X, so both start with 1(): Scribble accepts the non-deterministic choice; we refuse branches that start alike"
      }
    }
  ),
  good(
    "efsm/gcontinue/choiceunguarded/Test01b.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.choice("A", { again: [$.continue("X")], "2": [$.message("A", "B", "2", V), $.continue("X")] })
      ])
    ],
    { projections: { B: "rec X. A?1(). rec X′. A?{2(). continue X, 1(). continue X′}" } }
  ),
  good("efsm/gcontinue/choiceunguarded/Test01c.scr", AB, ($) => [
    $.loop("X", [$.message("A", "B", "1", V), $.choice("A", { again: [$.continue("X")] })])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test02a.scr", AB, ($) => [
    $.loop("Y", [
      $.message("A", "B", "0", V),
      $.loop("X", [$.message("A", "B", "1", V), $.choice("A", { x: [$.continue("X")], y: [$.continue("Y")] })])
    ])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test03.scr", AB, ($) => [
    $.loop("Y", [
      $.message("A", "B", "0", V),
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.choice("A", { x: [$.continue("X")], "2": [$.message("A", "B", "2", V)], y: [$.continue("Y")] })
      ])
    ])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test04.scr", AB, ($) => [
    $.loop("X", [
      $.message("A", "B", "0", V),
      $.choice("A", { again: [$.continue("X")], "2": [$.message("A", "B", "2", V)] })
    ]),
    $.message("A", "B", "3", V)
  ]),
  good("efsm/gcontinue/choiceunguarded/Test05a.scr", ABC, ($) => [
    $.loop("X", [
      $.message("A", "B", "1", V),
      $.message("B", "C", "2", V),
      $.choice("C", {
        "3": [$.message("C", "A", "3", V), $.continue("X")],
        "4": [$.message("C", "A", "4", V), $.continue("X")]
      })
    ])
  ]),
  good(
    "efsm/gcontinue/choiceunguarded/Test05b.scr",
    ABC,
    ($) => [
      $.loop("X", [
        $.loop("Y", [
          $.message("A", "B", "1", V),
          $.message("B", "C", "2", V),
          $.choice("C", {
            "3": [$.message("C", "A", "3", V), $.continue("X")],
            "4": [$.message("C", "A", "4", V), $.continue("Y")]
          })
        ])
      ])
    ],
    {
      disagreement: {
        problem: "UnmergeableBranches",
        why: "B is outside C's choice, and both branches start a loop again: Scribble's automata accept it, since what follows tells the role; nuScr's merge, which we follow, needs the role's projections of the branches to be equal or to start with receives of different labels from one sender, and `continue X` and `continue Y` differ. Refusing is conservative"
      }
    }
  ),
  good("efsm/gcontinue/choiceunguarded/Test06.scr", AB, ($) => [
    $.message("A", "B", "1", V),
    $.loop("X", [
      $.message("A", "B", "2", V),
      $.message("A", "B", "3", V),
      $.choice("A", { again: [$.continue("X")], "4": [$.message("A", "B", "4", V)] })
    ])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test07a.scr", AB, ($) => [
    $.loop("X", [
      $.choice("A", {
        "3": [
          $.message("A", "B", "3", V),
          $.choice("A", { again: [$.continue("X")], "6": [$.message("A", "B", "6", V)] })
        ],
        "4": [$.message("A", "B", "4", V)]
      })
    ])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test07c.scr", AB, ($) => [
    $.loop("X", [
      $.choice("A", {
        "3": [
          $.message("A", "B", "3", V),
          $.choice("A", {
            more: [
              $.choice("A", {
                "1": [$.message("A", "B", "1", V), $.continue("X")],
                "2": [$.message("A", "B", "2", V), $.continue("X")]
              })
            ],
            "6": [$.message("A", "B", "6", V)]
          })
        ],
        "4": [$.message("A", "B", "4", V)]
      })
    ])
  ]),
  good("efsm/gcontinue/choiceunguarded/Test08.scr", AB, ($) => [
    $.loop("X", [
      $.choice("A", {
        "1": [
          $.message("A", "B", "1", V),
          $.choice("A", { again: [$.continue("X")], "3": [$.message("A", "B", "3", V)] })
        ],
        "2": [$.message("A", "B", "2", V)]
      })
    ])
  ]),
  good("reach/globals/grecursion/Recursion15.scr", AB, ($) => [
    $.loop("X", [
      $.message("A", "B", "m", V),
      $.choice("A", { again: [$.continue("X")], m2: [$.message("A", "B", "m2", V)] })
    ])
  ]),
  good("reach/globals/grecursion/Recursion16.scr", AB, ($) => [
    $.choice("A", {
      m1: [$.message("A", "B", "m1", V)],
      loop: [$.loop("X", [$.message("A", "B", "m2", V), $.continue("X")])]
    }),
    $.message("A", "B", "m3", V)
  ]),
  good("reach/globals/grecursion/Recursion17a.scr", AB, ($) => [
    $.loop("Z", [
      $.choice("A", {
        x: [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")])],
        y: [$.loop("Y", [$.message("A", "B", "2", V)])]
      })
    ]),
    $.message("A", "B", "3", V)
  ]),
  good(
    "reach/globals/grecursion/Recursion19.scr",
    ["A", "B", "C", "D"],
    ($) => [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")]), $.message("C", "D", "2", V)],
    {
      disagreement: {
        problem: "UnreachableStep",
        why: "2() from C to D follows a loop that never ends: Scribble lets C and D go ahead since the loop does not involve them; we refuse any step that follows a loop that never ends (it would only run after an endless run, and a protocol that says so is almost surely a mistake), as issue 12 asks"
      }
    }
  ),
  good(
    "reach/globals/gdo/Test06c.scr",
    AB,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.include(Bar, { C: "A", D: "B" })],
        "2": [$.message("A", "B", "2", V)]
      }),
      $.message("A", "B", "3", V)
    ],
    {
      name: "Foo",
      projections: { B: "A?{1(). rec Bar. A?5(). continue Bar, 2(). A?3(). end}" }
    }
  ),
  good(
    "reach/globals/grecursion/Recursion20.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")], "2": [$.message("A", "B", "2", V)] })
      ]),
      $.message("B", "A", "3", V)
    ],
    { projections: { B: "rec X. A?{1(). continue X, 2(). A!3(). end}" } }
  ),
  bad(
    "wfchoice/gchoice/Choice01.scr",
    AB,
    ($) => [
      $.choice("A", {
        l1: [$.message("A", "B", "l1", V)],
        again: [$.message("A", "B", "l1", V), $.message("A", "B", "l2", V)]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/gchoice/Choice02.scr",
    AB,
    ($) => [$.choice("A", { l1: [$.message("B", "A", "l1", V), $.message("A", "B", "l1", V)] })],
    "ChooserNotFirst"
  ),
  bad(
    "wfchoice/gchoice/Choice05b.scr",
    AB,
    ($) => [
      $.choice("B", {
        l1: [
          $.message("B", "A", "l1", V),
          $.choice("A", { l1: [$.message("A", "B", "l1", V)], l2: [$.message("A", "B", "l2", V)] })
        ],
        more: [
          $.choice("B", {
            l2: [$.message("B", "A", "l2", V), $.message("B", "A", "l3", V)],
            again: [$.message("B", "A", "l2", V), $.message("B", "A", "l4", V)]
          })
        ]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/gchoice/Choice05c.scr",
    AB,
    ($) => [
      $.choice("B", {
        l1: [
          $.message("B", "A", "l1", V),
          $.choice("A", { l1: [$.message("A", "B", "l1", V)], l2: [$.message("A", "B", "l2", V)] })
        ],
        more: [$.choice("B", { l2: [$.message("B", "A", "l2", V)], again: [$.message("B", "A", "l1", V)] })]
      })
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/gchoice/Choice08.scr",
    ABC,
    ($) => [
      $.choice("A", {
        l1: [$.message("A", "B", "l1", V), $.message("B", "C", "l2", V)],
        l2: [$.message("A", "B", "l2", V), $.message("B", "C", "l2", V), $.message("C", "A", "l4", V)]
      }),
      $.message("A", "C", "l4", V)
    ],
    "UnmergeableBranches"
  ),
  bad(
    "wfchoice/gchoice/Choice09a.scr",
    ABC,
    ($) => [
      $.message("A", "C", "3", V),
      $.loop("Y", [
        $.message("A", "B", "2", V),
        $.message("B", "A", "2a", V),
        $.loop("X", [
          $.message("A", "B", "1", V),
          $.choice("A", {
            "2": [$.message("A", "B", "2", V), $.continue("X")],
            y: [$.continue("Y")],
            "4": [$.message("A", "B", "4", V)]
          })
        ])
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/gchoice/Choice10a.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.message("A", "B", "1", V),
        $.choice("A", {
          again: [$.continue("X")],
          inner: [
            $.loop("Y", [
              $.message("A", "B", "2", V),
              $.choice("A", { y: [$.continue("Y")], "2": [$.message("A", "B", "2", V)] })
            ])
          ]
        })
      ])
    ],
    "DuplicateLabel"
  ),
  bad(
    "wfchoice/gchoice/Choice10b.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", {
          again: [$.continue("X")],
          inner: [
            $.loop("Y", [
              $.message("A", "B", "2", V),
              $.choice("A", { x: [$.continue("X")], "2": [$.message("A", "B", "2", V)] })
            ])
          ]
        })
      ])
    ],
    "UnguardedRecursion"
  ),
  bad(
    "reach/globals/grecursion/Recursion01b.scr",
    AB,
    ($) => [$.loop("X", [$.message("A", "B", "l1", V), $.continue("X"), $.message("A", "B", "l2", V)])],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion01c.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", {
          l1: [$.message("A", "B", "l1", V), $.continue("X"), $.message("A", "B", "l2", V)],
          l3: [$.message("A", "B", "l3", V)]
        })
      ])
    ],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion03a.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.message("A", "B", "l1", V),
        $.loop("Y", [$.message("B", "A", "l2", V), $.continue("Y")]),
        $.message("B", "A", "l3", V)
      ])
    ],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion03b.scr",
    AB,
    ($) => [
      $.loop("X", [$.message("A", "B", "l1", V), $.loop("Y", [$.message("B", "A", "l2", V), $.continue("Y")])]),
      $.message("B", "A", "l4", V)
    ],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion05a.scr",
    AB,
    ($) => [
      $.loop("X", [$.message("A", "B", "l1", V), $.continue("X")]),
      $.loop("Y", [$.message("B", "A", "l2", V), $.continue("Y")])
    ],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion08b.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", {
          l1: [$.message("A", "B", "l1", V), $.continue("X")],
          l2: [$.message("A", "B", "l2", V), $.continue("X")]
        }),
        $.message("A", "B", "l3", V)
      ])
    ],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion19a.scr",
    ABC,
    ($) => [$.loop("X", [$.message("A", "B", "1", V), $.continue("X")]), $.message("A", "C", "2", V)],
    "UnreachableStep"
  ),
  bad(
    "reach/globals/grecursion/Recursion06b.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", { l1: [$.message("A", "B", "l1", V), $.continue("X")], l2: [$.message("A", "B", "l2", V)] }),
        $.message("A", "B", "l3", V)
      ]),
      $.message("A", "B", "l4", V)
    ],
    "NonTailRecursion"
  ),
  bad(
    "reach/globals/grecursion/Recursion17e.scr",
    AB,
    ($) => [
      $.loop("Z", [
        $.choice("A", {
          "1": [$.loop("X", [$.message("A", "B", "1", V)])],
          "2": [$.loop("Y", [$.message("A", "B", "2", V), $.continue("Z")])]
        }),
        $.message("A", "B", "4", V)
      ]),
      $.message("A", "B", "3", V)
    ],
    "NonTailRecursion"
  ),
  bad(
    "reach/globals/grecursion/Recursion18.scr",
    AB,
    ($) => [
      $.loop("X", [
        $.choice("A", { "1": [$.message("A", "B", "1", V)], "2": [$.message("A", "B", "2", V), $.continue("X")] }),
        $.continue("X")
      ])
    ],
    "NonTailRecursion"
  ),
  bad(
    "reach/globals/gdo/Test05b.scr",
    AB,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.include($.self)],
        "2": [$.message("A", "B", "2", V), $.message("A", "B", "3", V)]
      }),
      $.message("A", "B", "3", V)
    ],
    "NonTailRecursion"
  ),
  bad(
    "reach/globals/gdo/Test06e.scr",
    AB,
    ($) => [
      $.choice("A", { "1": [$.message("A", "B", "1", V), $.include($.self)], "2": [$.message("A", "B", "2", V)] }),
      $.message("A", "B", "3", V)
    ],
    "NonTailRecursion"
  ),
  {
    source: "scribble-test/src/test/resources/bad/wfchoice/enabling/twoparty/Test01b.scr",
    verdict: "refuse",
    roles: ["A", "B", "C", "D"],
    steps: ($) => [
      $.loop("X", [$.message("C", "D", "1", V), $.choice("A", { "1": [$.message("A", "B", "1", V), $.continue("X")] })])
    ],
    disagreement: {
      nuscr: "test/cram-tests/core/merge-send.t/Merging.nuscr",
      why: "C sends 1() to D again inside A's choice without having been told of it: Scribble refuses a role that acts in a choice before it is enabled by a message; nuScr merges a send that is the same in every branch, which is finding 1 of issue 12. Sound: C's send is the same whatever A chose"
    }
  },
  {
    source: "scribble-test/src/test/resources/bad/wfchoice/enabling/threeparty/Test03b.scr",
    verdict: "refuse",
    roles: ABC,
    steps: ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [
            $.message("A", "B", "1", V),
            $.choice("B", {
              "1": [$.message("B", "C", "1", V), $.continue("X")],
              "3": [$.message("B", "C", "3", V), $.continue("X")]
            })
          ],
          "2": [$.message("A", "B", "2", V), $.message("B", "C", "2", V)]
        })
      ])
    ],
    disagreement: {
      nuscr: "test/cram-tests/core/merge-send.t/Merging.nuscr",
      why: "A starts the loop again (sends to B) inside B's choice, not told of it: Scribble refuses A as not enabled; nuScr merges A's projections of B's branches, which are the same (`continue X`). Sound: A acts alike whatever B chose"
    }
  },
  {
    source: "scribble-test/src/test/resources/bad/wfchoice/merge/Test01.scr",
    verdict: "refuse",
    roles: ABC,
    steps: ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "2", V), $.message("A", "C", "4", V)],
        "3": [$.message("A", "B", "3", V), $.message("B", "C", "2", V), $.message("A", "C", "5", V)]
      })
    ],
    disagreement: {
      nuscr: "lib/mpst/ltype.ml (merge: receives of one label merge their continuations)",
      why: "C receives 2() from B in both branches, then 4() or 5() from A: the file says it 'would be OK with syntactic merge' but Scribble reads it as a non-deterministic receive; nuScr's merge (which we follow) gives C `B?2(). A?{4(). end, 5(). end}`. Sound: C learns the branch from A before it acts on it"
    }
  },
  {
    source: "scribble-test/src/test/resources/bad/wfchoice/oldwfchoice/globals/gchoice/Choice08.scr",
    verdict: "refuse",
    roles: ABC,
    steps: ($) => [
      $.choice("A", {
        l1: [$.message("A", "B", "l1", V), $.message("B", "C", "l2", V)],
        l2: [$.message("A", "B", "l2", V), $.message("B", "C", "l2", V)]
      }),
      $.message("C", "A", "l2", V)
    ],
    disagreement: {
      nuscr: "lib/mpst/ltype.ml (merge: receives of one label merge their continuations)",
      why: "C receives l2() from B in both branches and then does the same: an old rule of Scribble's (oldwfchoice) refuses a role outside the choice that is never told the branch; nuScr's merge accepts it, since C's behaviour does not depend on the branch. Sound for the same reason"
    }
  },
  bad(
    "syntax/consistentchoicesubj/Test01.scr",
    ABC,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V)],
        "2": [$.message("A", "B", "2", V), $.message("B", "C", "2", V)]
      })
    ],
    "UnmergeableBranches"
  ),
  bad(
    "syntax/consistentchoicesubj/Test02.scr",
    ["C", "S"],
    ($) => [$.choice("C", { inner: [$.choice("S", { "1": [$.message("S", "C", "1", V)] })] })],
    "ChooserNotFirst"
  ),
  bad(
    "syntax/consistentchoicesubj/Test06a.scr",
    ABC,
    ($) => [
      $.choice("A", {
        "1": [$.message("A", "B", "1", V), $.message("B", "C", "2", V), $.message("C", "B", "3", V)],
        "4": [$.message("A", "C", "4", V), $.message("C", "B", "5", V)]
      })
    ],
    "InconsistentChoiceReceiver"
  ),
  bad(
    "syntax/consistentchoicesubj/Test07b.scr",
    ABC,
    ($) => [
      $.loop("X", [
        $.choice("A", {
          "1": [$.message("A", "B", "1", V), $.message("A", "C", "1", V), $.message("C", "B", "4", V)],
          "2": [$.message("A", "B", "2", V), $.message("B", "C", "3", V), $.message("C", "B", "5", V)]
        })
      ])
    ],
    "UnmergeableBranches"
  )
]
