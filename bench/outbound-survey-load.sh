#!/usr/bin/env bash
# Outbound survey campaign load (issue 7, BENCHMARKS.md): SURVEYS survey calls
# (default 2000) through a SIPp UAS trunk allowing 50 concurrent calls and
# 100 new calls per second; the citizens answer and hang up after a second.
# Prints calls placed per second, the server's CPU time and the peak of
# concurrent outbound calls (which must stay <= 50).
#
# Usage: SURVEYS=2000 bench/outbound-survey-load.sh   (needs sipp: apt-get install sip-tester)
set -euo pipefail
cd "$(dirname "$0")/.."
SURVEYS=${SURVEYS:-2000} cargo test --release -p hotline --test outbound_calls \
    survey_campaign_load -- --ignored --nocapture
