/**
 * Registers the network commands (`listen`, `connect`) and `completions`, which
 * prints a shell completion script built from the program's own commands and options
 * (so it never goes stale).
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { registerListen } from "./listen_cmd.ts";
import { registerConnect } from "./connect_cmd.ts";

/** Shells `completions` knows. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

interface Spec {
  name: string;
  description: string;
  options: { flag: string; description: string; takesValue: boolean; choices?: string[] }[];
}

/** Adds `listen`, `connect` and `completions` to the program. */
export function registerNet(prog: Command, out: (line: string) => void): void {
  registerListen(prog, out);
  registerConnect(prog, out);
  prog.command("completions")
    .description("Print a shell completion script (bash, zsh or fish)")
    .argument("<shell>", SHELLS.join(", "), (v: string): Shell => {
      if (!(SHELLS as readonly string[]).includes(v)) {
        throw new InvalidArgumentError(`shell must be one of ${SHELLS.join(", ")}`);
      }
      return v as Shell;
    })
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  finwait completions bash > ~/.local/share/bash-completion/completions/finwait\n" +
        "  finwait completions zsh > ~/.zfunc/_finwait      (with fpath+=(~/.zfunc))\n" +
        "  finwait completions fish > ~/.config/fish/completions/finwait.fish",
    )
    .action((shell) => {
      out(completionScript(prog, shell));
    });
}

function specs(prog: Command): Spec[] {
  return prog.commands.map((c) => {
    const options: Spec["options"] = c.options.map((o) => ({
      flag: o.long ?? o.short ?? "",
      description: o.description,
      takesValue: o.required || o.optional,
      choices: o.argChoices,
    }));
    options.push({ flag: "--help", description: "show help", takesValue: false });
    return { name: c.name(), description: c.description(), options };
  });
}

const q = (s: string) => s.replace(/'/g, "'\\''");

/** The completion script for `shell`. */
export function completionScript(prog: Command, shell: Shell): string {
  const cmds = specs(prog);
  const name = prog.name();
  if (shell === "bash") {
    const cases = cmds.map((c) => {
      const valueOpts = c.options.flatMap((o) => o.choices ? [] : o.takesValue ? [o.flag] : []);
      const choiceCases = c.options.filter((o) => o.choices).map((o) =>
        `        ${o.flag}) COMPREPLY=($(compgen -W '${o.choices!.join(" ")}' -- "$cur")); return;;`
      ).join("\n");
      return `    ${c.name})\n      case "$prev" in\n${choiceCases}${choiceCases ? "\n" : ""}` +
        (valueOpts.length ? `        ${valueOpts.join("|")}) return;;\n` : "") +
        `      esac\n      COMPREPLY=($(compgen -W '${
          c.options.map((o) => o.flag).join(" ")
        }' -- "$cur"));;`;
    }).join("\n");
    return `# bash completion for ${name}
_${name}() {
  local cur prev cmd
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W '${cmds.map((c) => c.name).join(" ")} --help --version' -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
}
complete -F _${name} ${name}`;
  }
  if (shell === "zsh") {
    const subs = cmds.map((c) => `      '${c.name}:${q(c.description)}'`).join("\n");
    const cases = cmds.map((c) => {
      const args = c.options.map((o) => {
        const desc = q(o.description.replace(/[[\]:]/g, " "));
        if (o.choices) return `'${o.flag}[${desc}]:value:(${o.choices.join(" ")})'`;
        return o.takesValue ? `'${o.flag}[${desc}]:value:'` : `'${o.flag}[${desc}]'`;
      }).join(" \\\n          ");
      return `        ${c.name})\n          _arguments ${args} '*:argument:' ;;`;
    }).join("\n");
    return `#compdef ${name}
_${name}() {
  local state
  _arguments '1:command:->cmd' '*::arg:->args'
  case $state in
    cmd)
      local -a subcommands
      subcommands=(
${subs}
      )
      _describe command subcommands ;;
    args)
      case $words[1] in
${cases}
      esac ;;
  esac
}
_${name} "$@"`;
  }
  const lines = [`# fish completion for ${name}`, `complete -c ${name} -f`];
  for (const c of cmds) {
    lines.push(
      `complete -c ${name} -n '__fish_use_subcommand' -a ${c.name} -d '${q(c.description)}'`,
    );
    for (const o of c.options) {
      const long = o.flag.replace(/^--/, "");
      const r = o.choices ? ` -r -a '${o.choices.join(" ")}'` : o.takesValue ? " -r" : "";
      lines.push(
        `complete -c ${name} -n '__fish_seen_subcommand_from ${c.name}' -l ${long}${r} -d '${
          q(o.description)
        }'`,
      );
    }
  }
  return lines.join("\n");
}
