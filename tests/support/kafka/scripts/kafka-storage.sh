#!/bin/bash
# Stand-in for Kafka 4.1's bin/kafka-storage.sh.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
