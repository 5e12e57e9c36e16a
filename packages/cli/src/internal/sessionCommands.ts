/** `troupe session play`: a person plays a role of a running session, through a node's inspector. */
import { Config, Effect, Option, Redacted } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { AlreadyReported, userError } from "./userError.ts"

/** `troupe session play`: play a role of a running session from this terminal, through an inspector. */
const play = Command.make(
  "play",
  {
    session: Argument.String("session").pipe(Argument.withDescription("The session's id")),
    role: Argument.String("role").pipe(Argument.withDescription("The role to play, as the protocol names it")),
    inspector: Flag.String("inspector").pipe(
      Flag.withDescription("The URL of a node's inspector, e.g. http://127.0.0.1:4000/ (any node of the cluster)"),
      Flag.filter(
        (url) => /^https?:\/\//.test(url) && URL.canParse(url),
        (url) => `${url} is not an http:// or https:// URL`
      )
    ),
    token: Flag.Redacted("token").pipe(
      Flag.withDescription("The inspector's token (its --inspect-token). Default: TROUPE_INSPECT_TOKEN"),
      Flag.withFallbackConfig(Config.Redacted("TROUPE_INSPECT_TOKEN")),
      Flag.optional
    ),
    as: Flag.String("as").pipe(Flag.withDescription("Your name, as the session's trace records it"), Flag.optional)
  },
  (flags) =>
    Effect.promise(() => import("@troupe/inspector")).pipe(
      Effect.flatMap(({ Terminal }) =>
        Terminal.play({
          inspector: flags.inspector,
          session: flags.session,
          role: flags.role,
          token: Option.getOrUndefined(Option.map(flags.token, Redacted.value)),
          by: Option.getOrUndefined(flags.as)
        }).pipe(
          Effect.catchTag("QuitError", () =>
            Effect.fail(new CliError.UserError({ cause: "quit", userMessage: "stopped playing" }))
          ),
          Effect.flatMap((played) => (played.outcome === "completed" ? Effect.void : new AlreadyReported()))
        )
      ),
      userError
    )
).pipe(
  Command.withDescription(
    "Play a role of a running session from this terminal: see what it receives, choose among its legal moves"
  ),
  Command.withExamples([
    {
      command: "troupe session play 3f2c... B --inspector http://127.0.0.1:4000/ --token t0k --as Bea",
      description: "Play role B of session 3f2c... through the inspector of any node"
    }
  ])
)

/** `troupe session`: its subcommands. */
export const sessionCommand = Command.make("session").pipe(
  Command.withDescription("Take part in running choreography sessions"),
  Command.withSubcommands([play])
)
