#!/usr/bin/env python3
"""A Python producer and consumer for mmstream, on Debian's python3-avro (1.11.1) and python3-confluent-kafka.

It writes ImageEvents to mm.images.v1 and reads EnrichedImage / ModerationDecision records back, in either
wire format the pipeline speaks:

- Avro single-object encoding: c3 01, the writer schema's fingerprint (CRC-64-AVRO of its parsing canonical
  form, 8 bytes little endian), then the Avro binary body. The fingerprints are published in
  schemas/avsc/fingerprints.json as 16 hex digits of the 64-bit value.
- Confluent Schema Registry wire format: 00, the registry's schema id (4 bytes big endian), then the body.

Keys: an ImageEvent is keyed by its eventId (UTF-8); enriched records and decisions come back keyed by eventId.

`roundtrip` publishes one image and prints the decoded EnrichedImage and ModerationDecision as one JSON line;
the project's tests run it against a real broker and the stream app.
"""

import argparse
import datetime
import io
import json
import re
import struct
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import avro.io
import avro.schema
from confluent_kafka import Consumer, Producer

SINGLE_OBJECT_MARKER = b"\xc3\x01"
REGISTRY_MAGIC = b"\x00"
IMAGES_TOPIC = "mm.images.v1"
ENRICHED_TOPIC = "mm.enriched.v1"
MODERATION_TOPIC = "mm.moderation.v1"

# CRC-64-AVRO as the Avro specification defines it (the "Rabin" fingerprint).
_CRC64_EMPTY = 0xC15D213AA4D7A795
_CRC64_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_CRC64_EMPTY if _fp & 1 else 0)
    _CRC64_TABLE.append(_fp)


def crc64_avro(data: bytes) -> int:
    fp = _CRC64_EMPTY
    for b in data:
        fp = (fp >> 8) ^ _CRC64_TABLE[(fp ^ b) & 0xFF]
    return fp


_PRIMITIVE_WITH_ATTRIBUTES = re.compile(r'\{"type":"(null|boolean|int|long|float|double|bytes|string)"\}')


def parsing_canonical_form(schema: avro.schema.Schema) -> str:
    """python3-avro 1.11.1's canonical_form keeps {"type":"long"} where a primitive had attributes (logicalType,
    avro.java.string); the specification strips those attributes, so the primitive is just "long"."""
    return _PRIMITIVE_WITH_ATTRIBUTES.sub(r'"\1"', schema.canonical_form)


class Schemas:
    """The published schemas (schemas/avsc) and the fingerprints Java puts in single-object headers."""

    def __init__(self, directory):
        directory = Path(directory)
        self.fingerprints = {name: int(text, 16)
                             for name, text in json.loads((directory / "fingerprints.json").read_text()).items()}
        self.json = {name: (directory / f"{name}.avsc").read_text() for name in self.fingerprints}
        self.parsed = {name: avro.schema.parse(text) for name, text in self.json.items()}


class Registry:
    """The two Confluent Schema Registry calls a client needs (Apicurio and Karapace serve the same API)."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self._by_id = {}

    def _call(self, path, body=None):
        request = urllib.request.Request(self.url + path, method="POST" if body is not None else "GET",
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def register(self, subject, schema_json):
        return self._call(f"/subjects/{subject}/versions", {"schema": schema_json})["id"]

    def schema(self, schema_id):
        if schema_id not in self._by_id:
            self._by_id[schema_id] = avro.schema.parse(self._call(f"/schemas/ids/{schema_id}")["schema"])
        return self._by_id[schema_id]


def _body(schema, record):
    out = io.BytesIO()
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def encode_single_object(schemas, name, record):
    return SINGLE_OBJECT_MARKER + struct.pack("<Q", schemas.fingerprints[name]) + _body(schemas.parsed[name], record)


def encode_registry(schemas, registry, topic, name, record):
    schema_id = registry.register(f"{topic}-value", schemas.json[name])
    return REGISTRY_MAGIC + struct.pack(">I", schema_id) + _body(schemas.parsed[name], record)


def decode(schemas, registry, name, value):
    """A record of type `name` in either wire format, read into the published schema."""
    if value[:2] == SINGLE_OBJECT_MARKER:
        fingerprint = struct.unpack("<Q", value[2:10])[0]
        if fingerprint != schemas.fingerprints[name]:
            raise ValueError(f"{name} written with schema {fingerprint:016x}, this client knows "
                             f"{schemas.fingerprints[name]:016x}: update schemas/avsc")
        writer, body = schemas.parsed[name], value[10:]
    elif value[:1] == REGISTRY_MAGIC and registry is not None:
        writer, body = registry.schema(struct.unpack(">I", value[1:5])[0]), value[5:]
    else:
        raise ValueError(f"unknown wire format, header {value[:10].hex()}")
    return avro.io.DatumReader(writer, schemas.parsed[name]).read(avro.io.BinaryDecoder(io.BytesIO(body)))


def image_event(event_id, tenant, image_bytes, question):
    return {
        "eventId": event_id,
        "imageId": event_id,
        "tenant": tenant,
        "source": {"data": image_bytes},
        "contentType": "image/png",
        "tasks": {
            "tag": {"labelSet": "demo", "labels": [], "topK": 3, "templates": []},
            "caption": {"prompt": None},
            "vqa": {"questions": [question], "candidates": []},
        },
        "metadata": {"client": "python"},
        "eventTime": datetime.datetime.now(datetime.timezone.utc),
    }


def roundtrip(args):
    schemas = Schemas(args.schemas)
    registry = Registry(args.registry) if args.registry else None
    fixed = crc64_avro(parsing_canonical_form(schemas.parsed["ImageEvent"]).encode())
    if fixed != schemas.fingerprints["ImageEvent"]:
        raise SystemExit(f"CRC-64-AVRO of the canonical form is {fixed:016x}, fingerprints.json says "
                         f"{schemas.fingerprints['ImageEvent']:016x}")

    event_id = f"py-{uuid.uuid4()}"
    event = image_event(event_id, args.tenant, Path(args.image).read_bytes(), args.question)
    value = (encode_registry(schemas, registry, IMAGES_TOPIC, "ImageEvent", event) if registry
             else encode_single_object(schemas, "ImageEvent", event))
    producer = Producer({"bootstrap.servers": args.bootstrap})
    producer.produce(IMAGES_TOPIC, key=event_id.encode(), value=value)
    if producer.flush(30) != 0:
        raise SystemExit("the ImageEvent was not delivered")

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": f"py-client-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([ENRICHED_TOPIC, MODERATION_TOPIC])
    found = {}
    formats = {}
    deadline = time.time() + args.timeout
    try:
        while len(found) < 2 and time.time() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error() or message.key() != event_id.encode():
                continue
            name = "EnrichedImage" if message.topic() == ENRICHED_TOPIC else "ModerationDecision"
            found[name] = decode(schemas, registry, name, message.value())
            formats[name] = "registry" if message.value()[:1] == REGISTRY_MAGIC else "single-object"
    finally:
        consumer.close()
    if len(found) < 2:
        raise SystemExit(f"after {args.timeout} s only {sorted(found)} came back for {event_id}")
    print(json.dumps({"eventId": event_id, "formats": formats, "enriched": found["EnrichedImage"],
                      "moderation": found["ModerationDecision"]}, default=str))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rt = sub.add_parser("roundtrip", help="publish one image, print its EnrichedImage and ModerationDecision")
    rt.add_argument("--bootstrap", required=True)
    rt.add_argument("--schemas", default=str(Path(__file__).resolve().parents[2] / "schemas" / "avsc"))
    rt.add_argument("--image", required=True)
    rt.add_argument("--tenant", default="demo")
    rt.add_argument("--question", default="is there a star?")
    rt.add_argument("--registry", help="Schema Registry URL: write the registry wire format")
    rt.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    roundtrip(args)


if __name__ == "__main__":
    main(sys.argv[1:])
