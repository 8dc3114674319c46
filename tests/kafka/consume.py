#!/usr/bin/env python3
"""Reads Kafka topics back for tests/kafka.rs, with confluent-kafka (PyPI;
its bundled librdkafka talks to the tansu broker, Debian's kcat 1.7.1 /
librdkafka 2.0.2 cannot).

    consume.py BOOTSTRAP TOPIC [TOPIC...]          every record, from offset 0
    consume.py --wait-for N BOOTSTRAP TOPIC         wait until TOPIC holds >= N

Prints one line per record: `topic<TAB>offset<TAB>value` (values are Zeek
JSON, which never holds a raw tab or newline), in offset order per topic,
topics in the order given. Partition 0 only (the test creates one-partition
topics). Exits 1 with a message if a topic cannot be read.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def consumer(bootstrap):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "connscope-test",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def high_watermark(c, topic):
    _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    return high


def read_all(c, topic):
    high = high_watermark(c, topic)
    out = []
    if high <= 0:
        return out
    c.assign([TopicPartition(topic, 0, 0)])
    deadline = time.monotonic() + 120
    while len(out) < high:
        if time.monotonic() > deadline:
            sys.exit(f"consume.py: {topic}: read {len(out)} of {high} records")
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            sys.exit(f"consume.py: {topic}: {m.error()}")
        out.append((m.offset(), m.value().decode("utf-8")))
        if m.offset() + 1 >= high:
            break
    c.unassign()
    return out


def main(argv):
    wait = None
    if argv[:1] == ["--wait-for"]:
        wait = int(argv[1])
        argv = argv[2:]
    bootstrap, topics = argv[0], argv[1:]
    c = consumer(bootstrap)
    try:
        if wait is not None:
            deadline = time.monotonic() + 120
            while high_watermark(c, topics[0]) < wait:
                if time.monotonic() > deadline:
                    sys.exit(f"consume.py: {topics[0]} never reached {wait} records")
                time.sleep(0.1)
            return
        for t in topics:
            for off, v in read_all(c, t):
                sys.stdout.write(f"{t}\t{off}\t{v}\n")
    except KafkaException as e:
        sys.exit(f"consume.py: {e}")
    finally:
        c.close()


if __name__ == "__main__":
    main(sys.argv[1:])
