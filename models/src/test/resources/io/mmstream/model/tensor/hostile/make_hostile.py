"""Writes the hostile torch-style checkpoints TorchCheckpointHostileTest reads.

Run with Debian's Python (no torch needed): /usr/bin/python3 make_hostile.py
Each file is a zip laid out like torch.save's (stored entries archive/data.pkl, archive/version),
whose data.pkl is what Python's own pickle writes (protocol 2) for an object whose __reduce__ asks
for a call: unpickling it with Python's pickle would run the call; the Java reader must refuse it.
"""
import os
import pickle
import zipfile

MARKER = "/tmp/mmstream-hostile-pickle-ran"


class SystemCall:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


class EvalCall:
    def __reduce__(self):
        return (eval, ("open('" + MARKER + "', 'w').close()",))


def write(name, obj):
    with zipfile.ZipFile(name, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        z.writestr("archive/version", "3\n")


write("os_system.pth", {"model": {"weight": SystemCall()}})
write("builtins_eval.bin", {"weight": EvalCall()})
