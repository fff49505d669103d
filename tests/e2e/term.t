# ax term: canonical printing, external format bytes, errors with positions.
set -e
out=$($AX term '{ok, [1, 2 | 3]}' "'Quoted atom'" '<<"abc">>')
expected='{ok, [1, 2 | 3]}
   <<131,104,2,100,0,2,111,107,108,0,0,0,2,97,1,97,2,97,3>>
'"'"'Quoted atom'"'"'
   <<131,100,0,11,81,117,111,116,101,100,32,97,116,111,109>>
"abc"
   <<131,109,0,0,0,3,97,98,99>>'
[ "$out" = "$expected" ] || { echo "got: $out"; exit 1; }
# A malformed term: its position and what was expected, status 1.
if err=$($AX term '{a, 1 b}' 2>&1); then echo "no failure"; exit 1; fi
[ "$err" = "ax term: 1:7: expected ',' or '}'" ] || { echo "got: $err"; exit 1; }
# Terms from standard input, each ended by a full stop.
out=$(printf '[1, 2.5e3, foo].\n#{a => 1}.\n' | $AX term | grep -v '<<')
[ "$out" = "[1, 2.5e3, foo]
#{a => 1}" ] || { echo "got: $out"; exit 1; }
