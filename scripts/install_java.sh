#!/usr/bin/env bash
# Install Debian's Java runtime for the Spark test (PySpark 4.0 needs Java 17 or newer).
set -euo pipefail
MIN=17

java_major() {  # major version of the java on the PATH (or JAVA_HOME), empty if none
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  command -v "$java" >/dev/null 2>&1 || return 0
  "$java" -version 2>&1 | sed -nE '1s/.*version "(1\.)?([0-9]+).*/\2/p'
}

current="$(java_major)"
if [ -n "$current" ] && [ "$current" -ge "$MIN" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's Java runtime for the Spark test..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # default-jre-headless is OpenJDK 17 on Debian 12 and 21 on Debian 13; older releases ship openjdk-17.
  apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
  installed="$(java_major)"
  if [ -z "$installed" ] || [ "$installed" -lt "$MIN" ]; then
    apt-get install -y -qq --no-install-recommends "openjdk-$MIN-jre-headless" >/dev/null
    update-alternatives --set java "$(ls -d /usr/lib/jvm/java-$MIN-openjdk-*/bin/java | head -1)"
  fi
  echo "java installed: $(java -version 2>&1 | head -1)"
else
  echo "warning: Java $MIN+ is missing${current:+ (found Java $current)} and cannot be installed here" \
       "(needs root and apt-get); the Spark test will skip (it fails under CI=true)." >&2
fi
