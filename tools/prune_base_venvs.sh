#!/usr/bin/env bash
# Remove outdated base venvs of the installer's cache (called by tools/install.sh after building a new one).
#
#   bash tools/prune_base_venvs.sh CACHE_DIR [KEEP=3]
#
# Keeps the KEEP most recent base venvs (each is several GB). An older one is removed only when no project venv
# points to it any more: tools/install.sh registers every project venv in <base>/.project_venvs/, and a project
# venv points to a base through the site dir in its _yolopose_base.pth. A base made by an installer that did not
# register its users yet is kept (who uses it is unknown); an incomplete one (a failed build) is removed.
set -uo pipefail
CACHE="$1"
KEEP="${2:-3}"

base_in_use() {
  # base_in_use DIR: prints a project venv that still points to the base venv DIR (exit 0), else exit 1
  local dir="${1%/}" reg venv
  for reg in "$dir"/.project_venvs/*; do
    [ -f "$reg" ] || continue
    venv=$(cat "$reg")
    if grep -qsF "'$dir/" "$venv"/lib/python*/site-packages/_yolopose_base.pth; then
      echo "$venv"; return 0
    fi
  done
  return 1
}

ls -1dt "$CACHE"/venvs/*/ 2>/dev/null | tail -n +"$((KEEP + 1))" | while read -r old; do
  old="${old%/}"
  if user=$(base_in_use "$old"); then
    echo "    keeping old base venv $old: the project venv $user still uses it"
  elif [ ! -f "$old/.yolopose_complete" ]; then
    echo "    removing incomplete base venv $old"; rm -rf "$old"
  elif [ ! -d "$old/.project_venvs" ]; then
    echo "    keeping old base venv $old: made by an older installer, its users are unknown (rm -rf it when unused)"
  else
    echo "    removing old base venv $old"; rm -rf "$old"
  fi
done
