#!/usr/bin/env bash
# The README's options table against the binary's own --help, both ways:
#   1. every option --help lists has a row (its first cell names it as `--name ...`), and
#      the row's default cell holds the default --help prints, as `value`;
#   2. every option the table names is one --help lists (no row outlives its option).
# --web-root's default is a path of the machine that built the binary: only its row is checked.
#   readme_options_test.sh <livefeed binary> <README.md>
set -euo pipefail
binary=${1:?usage: readme_options_test.sh <livefeed binary> <README.md>}
readme=${2:?usage: readme_options_test.sh <livefeed binary> <README.md>}

# "name default" per option of --help ("-" when it has none), --help itself left out.
help_options=$("$binary" --help | sed -n 's/^ *\(-h \[ \)\{0,1\}--\([a-z-]*\)[^(]*\((=\([^)]*\))\)\{0,1\}.*/\2 \4/p' |
  awk '$1 != "help" { print $1, ($2 == "" ? "-" : $2) }')
[[ -n $help_options ]] || { echo "no options found in $binary --help" >&2; exit 1; }

# The table's rows: the lines starting with "| `--" between "## Options" and the next "## ".
rows=$(awk '/^## / { in_options = ($0 == "## Options") } in_options && /^\| `--/' "$readme")
[[ -n $rows ]] || { echo "no options table under '## Options' in $readme" >&2; exit 1; }

failures=0
fail() {
  echo "$*" >&2
  failures=$((failures + 1))
}

while read -r name default; do
  row=$(awk -F'|' -v n="--$name" '
    { split($2, names, /, /); for (i in names) { gsub(/`/, "", names[i]); split(names[i], w, " ");
      if (w[1] == n) { print; exit } } }' <<<"$rows")
  if [[ -z $row ]]; then
    fail "README.md: no row for --$name (its --help default: $default)"
    continue
  fi
  [[ $default == - || $name == web-root ]] && continue
  default_cell=$(awk -F'|' '{ print $3 }' <<<"$row")
  if ! grep -qF -- "\`$default\`" <<<"$default_cell"; then
    fail "README.md: the row for --$name says the default is '$default_cell', --help says $default"
  fi
done <<<"$help_options"

# Each name in a row's first cell ("`--a X`, `--a-file FILE`") must be an option of --help.
while read -r documented; do
  if ! awk -v n="$documented" '$1 == n { found = 1 } END { exit !found }' <<<"$help_options"; then
    fail "README.md: the table documents --$documented, which livefeed --help does not list"
  fi
done < <(awk -F'|' '{ print $2 }' <<<"$rows" | grep -o '`--[a-z-]*' | sed 's/^`--//')

if ((failures)); then
  echo "$failures mismatch(es) between README.md's options table and livefeed --help" >&2
  exit 1
fi
echo "README.md documents all $(wc -l <<<"$help_options") options of livefeed --help"
