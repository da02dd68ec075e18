#!/bin/bash
# Stand-in for Kafka 4.1's bin/kafka-run-class.sh (the release's scripts are not on Maven Central):
# what decides the JVM's command line and the files written outside the data directory, as Kafka
# 4.1's script decides them. Its LOG_DIR, -loggc and -daemon handling are kept so that a pod env that
# let the broker write log files would show in tests/e2e/kafkaLoopback.e2e.ts. CLASSPATH comes from
# the environment (the real script appends the release's libs/* to it).
set -e
[ -n "$CLASSPATH" ] || { echo "CLASSPATH is empty" >&2; exit 1; }
LOG_DIR=${LOG_DIR:-$(dirname "$0")/../logs}
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$(dirname "$0")/../config/tools-log4j2.yaml"
else
  mkdir -p "$LOG_DIR"
fi
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"
KAFKA_JMX_OPTS=${KAFKA_JMX_OPTS:--Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
while [ $# -gt 0 ]; do
  case $1 in
    -name) DAEMON_NAME=$2; shift 2 ;;
    -loggc) [ -n "$KAFKA_GC_LOG_OPTS" ] || KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/$DAEMON_NAME-gc.log:time,tags:filecount=10,filesize=100M"; shift ;;
    -daemon) echo "-daemon: not in this stand-in (the pod runs the broker in the foreground)" >&2; exit 1 ;;
    *) break ;;
  esac
done
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
# Unquoted: each option variable is a list of words, as in the real script.
exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@"
