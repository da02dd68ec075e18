#!/bin/bash
# Stand-in for Kafka 4.1's bin/kafka-server-start.sh: its defaults (a fixed 1 GB heap, the
# release's log4j2.yaml, a GC log) apply wherever the pod's env leaves them unset.
[ $# -ge 1 ] || { echo "USAGE: $0 server.properties" >&2; exit 1; }
base_dir=$(dirname "$0")
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/../config/log4j2.yaml}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
EXTRA_ARGS=${EXTRA_ARGS--name kafkaServer -loggc}
exec "$base_dir/kafka-run-class.sh" $EXTRA_ARGS kafka.Kafka "$@"
