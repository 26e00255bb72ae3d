// `caisson completion bash|zsh`: a shell completion script made from the program's own command tree,
// so every command, subcommand and flag completes without a list kept by hand.
import type { Command } from 'commander';

/** Every command path ("", "host", "host list", …) with the words that may follow it. */
function completionTable(cmd: Command, path: string[] = [], table = new Map<string, string[]>()) {
  const subcommands = cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  table.set(path.join(' '), [...subcommands, ...flags, '--help']);
  for (const sub of cmd.commands) {
    for (const name of [sub.name(), ...sub.aliases()]) completionTable(sub, [...path, name], table);
  }
  return table;
}

export function bashCompletion(program: Command): string {
  const table = completionTable(program);
  const name = program.name();
  const paths = [...table.keys()].filter(Boolean);
  return `# bash completion for ${name}: source it, or put it in /etc/bash_completion.d/${name}
_${name}_complete() {
  local cur word path="" i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == "--" ]] && return 0
    [[ "$word" == -* ]] && continue
    case "\${path:+$path }$word" in
      ${paths.map((p) => `"${p}"`).join('|')}) path="\${path:+$path }$word" ;;
    esac
  done
  local words=""
  case "$path" in
${[...table.entries()].map(([p, words]) => `    "${p}") words="${words.join(' ')}" ;;`).join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _${name}_complete ${name}
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef ${program.name()}
# zsh completion for ${program.name()}: the bash script, through zsh's bashcompinit.
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
}
