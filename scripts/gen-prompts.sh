#!/usr/bin/env bash
# Generate the default IVR prompt set: prompts/cmn/*.wav (Mandarin),
# prompts/yue/*.wav (Cantonese) and prompts/hold-music.wav, all 8 kHz mono
# 16-bit. The WAVs are committed, so the server needs no TTS at run time;
# run this again only after changing a text below.
#
# Needs espeak-ng (voices cmn and yue) and sox:
#   apt-get install -y espeak-ng sox
#
# Usage: scripts/gen-prompts.sh [OUTPUT_DIR]   (default: prompts, from the repo root)
#
# Every prompt the default configuration (config/hotline.example.toml) and the
# built-in announcements use is listed here; `cargo test -p hotline-ivr`
# checks that the committed set is complete in both languages.
set -euo pipefail

out=${1:-prompts}
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install -y espeak-ng sox)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/cmn" "$out/yue"

# say VOICE FILE TEXT: speak, cut the silence at both ends, keep 60 ms of
# air after, convert to 8 kHz mono 16-bit (sox's resampler filters properly),
# normalise to -3 dBFS so prompts played in a row have the same loudness.
# espeak-ng's Mandarin counts each character as a word, so it needs a higher
# rate than Cantonese to sound like a normal announcement.
say() {
    local voice=$1 file=$2 text=$3 speed=165
    [[ "$voice" == cmn ]] && speed=220
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" "$text"
    sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$file" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
        pad 0 0.06 norm -3
}

# name | Mandarin text | Cantonese text
# Numbers in texts are written in characters: espeak would read "12345" as a
# quantity, and a hotline number is read digit by digit.
while IFS='|' read -r name cmn yue; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    say cmn "$out/cmn/$name.wav" "$cmn"
    say yue "$out/yue/$name.wav" "$yue"
done <<'TEXTS'
# --- menu (config/hotline.example.toml)
welcome|您好，欢迎致电茂名市一二三四五政务服务便民热线。|您好，歡迎致電茂名市一二三四五政務服務便民熱線。
language-menu|普通话服务请按一。如遇紧急情况，报警、火警、急救请按零。|普通話服務請按一。如遇緊急情況，報警、火警、急救請按零。
transfer-agent|正在为您转接话务员，请稍候。|正在為您轉接話務員，請稍候。
emergency-menu|报警请按一，火警请按二，急救请按三，交通事故请按四，返回请按星号键。|報警請按一，火警請按二，急救請按三，交通事故請按四，返回請按星號鍵。
emergency-transfer|正在为您转接紧急服务，请不要挂机。|正在為您轉接緊急服務，請唔好收線。
welcome-consumer|您好，一二三一五消费者投诉举报热线已并入一二三四五热线。|您好，一二三一五消費者投訴舉報熱線已併入一二三四五熱線。
consumer-menu|投诉举报请按一，申请回电请按二。|投訴舉報請按一，申請回電請按二。
try-again|对不起，您的输入有误，请再试一次。|對唔住，您嘅輸入有誤，請再試一次。
goodbye|感谢您的来电，再见。|多謝您嘅來電，再見。
# --- survey ([survey])
survey|请对本次服务进行评价：非常满意请按一，满意请按二，基本满意请按三，不满意请按四，非常不满意请按五。|請對今次服務作出評價：非常滿意請按一，滿意請按二，基本滿意請按三，不滿意請按四，非常不滿意請按五。
survey-retry|对不起，您的输入无效。|對唔住，您嘅輸入無效。
survey-thanks|感谢您的评价，再见。|多謝您嘅評價，再見。
# --- outbound survey call opening (built in): prefix, request number digit by digit, suffix
survey-intro-prefix|您好，这里是一二三四五政务服务便民热线，就您的诉求，编号|您好，呢度係一二三四五政務服務便民熱線，就您嘅訴求，編號
survey-intro-suffix|，对办理结果进行回访。|，對辦理結果進行回訪。
# --- queue announcements (built in)
queue-position-prefix|您前面还有|您前面仲有
queue-position-suffix|位在等候。|位喺度等候。
queue-next|您是下一位，请稍候。|您係下一位，請稍候。
queue-wait-prefix|预计等候时间约|預計等候時間大約
queue-wait-suffix|分钟。|分鐘。
# --- callback offer (built in)
callback-offer|如需回电，使用本机号码请按一，输入其他号码请按二。|如需回電，用本機號碼請按一，輸入其他號碼請按二。
callback-enter|请输入回电号码，以井号键结束。|請輸入回電號碼，以井號鍵結束。
callback-confirm-prefix|您输入的号码是|您輸入嘅號碼係
callback-confirm-suffix|确认请按一，重新输入请按二。|確認請按一，重新輸入請按二。
callback-accepted|我们已记录您的回电请求，将尽快给您回电。|我哋已經記錄您嘅回電請求，會盡快覆電畀您。
# --- number words (ivr/src/numbers.rs)
num-0|零|零
num-1|一|一
num-2|二|二
num-3|三|三
num-4|四|四
num-5|五|五
num-6|六|六
num-7|七|七
num-8|八|八
num-9|九|九
num-10|十|十
num-100|百|百
num-1000|千|千
num-10000|万|萬
num-liang|两|兩
TEXTS

# The Cantonese half of the bilingual language menu, played to every caller
# in Cantonese whatever the default language (referenced as "yue/language-menu-yue").
say yue "$out/yue/language-menu-yue.wav" "廣東話服務請按二。"

# Music on hold: a slow, quiet arpeggio over I-vi-IV-V in C (plucked string
# with a soft sine bass), 16 s, fading in and out at the loop point so the
# repeat is seamless. Language-independent, at the top of the prompt set.
chords=("C4 E4 G4 C5 G4 E4 C4 G3" "A3 C4 E4 A4 E4 C4 A3 E3"
        "F3 A3 C4 F4 C4 A3 F3 C3" "G3 B3 D4 G4 D4 B3 G3 D3")
basses=(C3 A2 F2 G2)
parts=()
for i in "${!chords[@]}"; do
    notes=()
    j=0
    for n in ${chords[$i]}; do
        sox -n -r 8000 -c 1 -b 16 "$tmp/n$i-$j.wav" synth 0.5 pluck "$n" fade q 0.01 0.5 0.25 vol 0.5
        notes+=("$tmp/n$i-$j.wav")
        j=$((j + 1))
    done
    sox "${notes[@]}" "$tmp/arp$i.wav"
    sox -n -r 8000 -c 1 -b 16 "$tmp/bass$i.wav" synth 4 sine "${basses[$i]}" fade h 0.3 4 0.6 vol 0.25
    sox -m "$tmp/arp$i.wav" "$tmp/bass$i.wav" "$tmp/bar$i.wav"
    parts+=("$tmp/bar$i.wav")
done
sox "${parts[@]}" -r 8000 -c 1 -b 16 "$out/hold-music.wav" fade t 0.05 0 0.05 norm -9

echo "wrote $(find "$out" -name '*.wav' | wc -l) prompts under $out"
