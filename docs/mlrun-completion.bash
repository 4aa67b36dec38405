# bash completion for mlrun (installed as
# PREFIX/share/bash-completion/completions/mlrun by `make install`).
# Completes lua's options, mlrun's long options and their values, the
# subcommands and their options, and file names for scripts.
# A new subcommand: add its name to _mlrun_subcommands and its options to
# the case in _mlrun_subcommand (and to main.c's table and mlrun.1).

_mlrun_subcommands="sweep serve"

_mlrun_subcommand() {   # _mlrun_subcommand NAME: completes the words after it
  local cur=$1 prev=$2 sub=$3
  case $sub in
    sweep)
      case $prev in
        --log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "max min" -- "$cur")); return ;;
        --set|--workers|--metric|--timeout|--seed) return ;;
      esac
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--set --workers --log --metric --mode --timeout --seed --" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -- "$cur"))
      fi ;;
    serve)
      case $prev in
        --labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --port|--host|--workers|--threads|--max-batch|--batch-timeout-ms|--max-body|--timeout|\
        --max-pixels|--topk|--name|--image-shape|--image-scale) return ;;
      esac
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--port --host --workers --threads --max-batch --batch-timeout-ms
          --labels --max-body --timeout --max-pixels --topk --name --image-shape --image-scale --help" -- "$cur"))
      else   # a saved model or a Lua script returning one
        COMPREPLY=($(compgen -f -X '!*.@(mlm|mlt|lua)' -- "$cur") $(compgen -d -- "$cur"))
      fi ;;
  esac
}

_mlrun() {
  local cur prev i word sub=""
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  # find where the options end: a script, '-', '--' or a subcommand
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      -e|-l|--threads|--seed|--memory-limit) ((i++)); continue ;;
      --|-) COMPREPLY=($(compgen -f -- "$cur")); return ;;   # a script (or stdin) follows
      -*) continue ;;
    esac
    if [[ " $_mlrun_subcommands " == *" $word "* ]]; then
      sub=$word
      break
    fi
    COMPREPLY=($(compgen -f -- "$cur"))   # arguments of the script
    return
  done
  if [[ -n $sub ]]; then
    _mlrun_subcommand "$cur" "$prev" "$sub"
    return
  fi
  case $prev in
    -e|--seed|--memory-limit) return ;;
    -l) return ;;
    --threads) COMPREPLY=($(compgen -W "$(seq 1 "$(nproc 2>/dev/null || echo 1)")" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "-e -i -l -v -E -W -- - --threads --seed --memory-limit --version --help" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$_mlrun_subcommands" -- "$cur") $(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -- "$cur"))
  fi
}
complete -o filenames -F _mlrun mlrun
