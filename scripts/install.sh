#!/usr/bin/env bash
# Installs regpoke, its man page, its shell completions and the license
# texts under PREFIX (default /usr/local), optionally staged under DESTDIR.
# Run with --help for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/install.sh [--binary PATH] [--uninstall] [--help]

Installs regpoke, its man page, its shell completions and the license
texts under $DESTDIR$PREFIX:

  bin/regpoke                                      the program (mode 755)
  share/man/man1/regpoke.1.gz                      man page
  share/bash-completion/completions/regpoke        bash completion
  share/zsh/vendor-completions/_regpoke            zsh completion
  share/fish/vendor_completions.d/regpoke.fish     fish completion
  share/doc/regpoke/LICENSE-MIT, LICENSE-APACHE    license texts

Without --binary, regpoke is built first with
`cargo build --profile dist -p regpoke`.

Options:
  --binary PATH   install this regpoke binary instead of building one
                  (also REGPOKE_BINARY=PATH)
  --uninstall     remove exactly the files listed above
  -h, --help      print this help

Environment:
  PREFIX    installation prefix, an absolute path (default /usr/local);
            PREFIX=$HOME/.local installs for one user without root
  DESTDIR   staging root for packagers: files go to $DESTDIR$PREFIX/...
            while referring to $PREFIX (default: empty)

Examples:
  scripts/install.sh                          # as root, into /usr/local
  PREFIX=$HOME/.local scripts/install.sh      # as a user
  DESTDIR=/tmp/stage PREFIX=/usr scripts/install.sh --binary target/dist/regpoke
  scripts/install.sh --uninstall              # same PREFIX/DESTDIR as the install
EOF
}

binary=${REGPOKE_BINARY:-}
uninstall=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --binary)
            if [ "$#" -lt 2 ] || [ -z "$2" ]; then
                echo "error: --binary needs a path" >&2
                exit 2
            fi
            binary=$2
            shift 2
            ;;
        --binary=*)
            binary=${1#--binary=}
            shift
            ;;
        --uninstall)
            uninstall=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "error: unknown argument: $1 (see --help)" >&2
            exit 2
            ;;
    esac
done

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
case "$PREFIX" in
    /*) ;;
    *)
        echo "error: PREFIX must be an absolute path, not '$PREFIX'" >&2
        exit 2
        ;;
esac
# Without a trailing slash, so that paths print cleanly ("/" becomes "").
PREFIX=${PREFIX%/}
DESTDIR=${DESTDIR%/}
root="$DESTDIR$PREFIX"

# What is installed, relative to $DESTDIR$PREFIX. --uninstall removes
# exactly these.
f_bin=bin/regpoke
f_man=share/man/man1/regpoke.1.gz
f_bash=share/bash-completion/completions/regpoke
f_zsh=share/zsh/vendor-completions/_regpoke
f_fish=share/fish/vendor_completions.d/regpoke.fish
docdir=share/doc/regpoke
f_mit=$docdir/LICENSE-MIT
f_apache=$docdir/LICENSE-APACHE
files=("$f_bin" "$f_man" "$f_bash" "$f_zsh" "$f_fish" "$f_mit" "$f_apache")

if [ "$uninstall" = 1 ]; then
    for f in "${files[@]}"; do
        if [ -e "$root/$f" ] || [ -L "$root/$f" ]; then
            rm -f -- "$root/$f"
            echo "removed $root/$f"
        fi
    done
    # The documentation directory is regpoke's own: remove it once empty.
    rmdir -- "$root/$docdir" 2>/dev/null || true
    exit 0
fi

src=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "$binary" ]; then
    # shellcheck source=scripts/common.sh
    . "$src/scripts/common.sh"
    need_rust
    echo "building regpoke (cargo build --profile dist -p regpoke)"
    # Ask cargo where the binary is: this honours CARGO_TARGET_DIR and
    # build.target-dir alike.
    binary=$(cd "$src" &&
        cargo build --profile dist -p regpoke --message-format=json-render-diagnostics |
        sed -n 's/.*"executable":"\([^"]*\/regpoke\)".*/\1/p' | tail -n 1)
    if [ -z "$binary" ]; then
        echo "error: cargo did not report a regpoke executable" >&2
        exit 1
    fi
fi
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    echo "error: not an executable file: $binary" >&2
    exit 1
fi

# Everything is generated before anything is installed, so a binary that
# cannot run (or a failing generator) leaves the target untouched.
stage=$(mktemp -d)
trap 'rm -rf -- "$stage"' EXIT
"$binary" man >"$stage/regpoke.1"
gzip -9n <"$stage/regpoke.1" >"$stage/regpoke.1.gz"
"$binary" completions bash >"$stage/regpoke.bash"
"$binary" completions zsh >"$stage/_regpoke"
"$binary" completions fish >"$stage/regpoke.fish"
for f in "$stage/regpoke.1" "$stage/regpoke.bash" "$stage/_regpoke" "$stage/regpoke.fish"; do
    if [ ! -s "$f" ]; then
        echo "error: $binary produced an empty ${f##*/}" >&2
        exit 1
    fi
done

umask 022
put() { # mode source destination (relative to $root)
    mkdir -p -- "$(dirname "$root/$3")"
    install -m "$1" -- "$2" "$root/$3"
    echo "installed $root/$3"
}
put 755 "$binary" "$f_bin"
put 644 "$stage/regpoke.1.gz" "$f_man"
put 644 "$stage/regpoke.bash" "$f_bash"
put 644 "$stage/_regpoke" "$f_zsh"
put 644 "$stage/regpoke.fish" "$f_fish"
put 644 "$src/LICENSE-MIT" "$f_mit"
put 644 "$src/LICENSE-APACHE" "$f_apache"
