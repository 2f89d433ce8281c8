"""Checks Nodal's safetensors against Python's safetensors library (run where it is installed).

1. Writes the fixture src/test/resources/safetensors/python-written.safetensors with the
   library itself (the Java test reads it and compares Nodal's bytes for the same tensors).
2. Given a Nodal run folder and the Fashion-MNIST test files, loads the checkpoint's
   weights.safetensors with the library, rebuilds the 784-256-128-10 MLP in PyTorch and
   prints its test accuracy, to compare with `nodal eval` on the same checkpoint.

Usage: python3 safetensors_check.py OUT_FIXTURE [RUN_FOLDER DATA_FOLDER]
"""
import gzip, sys
import numpy as np
import torch
from safetensors.torch import save_file, load_file

save_file({"w": torch.tensor([[1., 2., 3.], [4., 5., 6.]]), "b": torch.tensor([-0.5, 0.0, 0.25])},
          sys.argv[1], metadata={"producer": "nodal"})
print("fixture written by safetensors", __import__("safetensors").__version__, "->", sys.argv[1])

if len(sys.argv) > 3:
    w = load_file(sys.argv[2] + "/checkpoint/weights.safetensors")
    print("tensors:", {k: tuple(v.shape) for k, v in sorted(w.items())})

    def idx(name):
        raw = gzip.open(sys.argv[3] + "/" + name).read()
        if raw[3] == 3:
            n, r, c = np.frombuffer(raw[4:16], ">i4")
            return np.frombuffer(raw[16:], np.uint8).reshape(n, r * c)
        return np.frombuffer(raw[8:], np.uint8)

    x = torch.tensor(idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
    y = torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    h = torch.relu(x @ w["fc1.W"] + w["fc1.b"])
    h = torch.relu(h @ w["fc2.W"] + w["fc2.b"])
    logits = h @ w["logits.W"] + w["logits.b"]
    print(f"pytorch on nodal's weights: test accuracy {(logits.argmax(1) == y).float().mean().item():.4f}")
