"""MLServer custom runtime serving an ONNX model with onnxruntime (MLServer ships none).

model-settings.json: {"name": ..., "implementation": "mlserver_ort.OrtRuntime",
"parameters": {"uri": "/abs/model.onnx"}}. Requests use the V2 (Open Inference Protocol) body:
{"inputs": [{"name": ..., "shape": [N, ...], "datatype": "FP32", "data": [...]}]}.
"""
import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OrtRuntime(MLModel):
    async def load(self) -> bool:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self._sess = ort.InferenceSession(await get_model_uri(self._settings), opts, providers=["CPUExecutionProvider"])
        self._input = self._sess.get_inputs()[0].name
        self._outputs = [o.name for o in self._sess.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        result = self._sess.run(None, {self._input: x})
        return InferenceResponse(model_name=self.name, outputs=[
            NumpyCodec.encode_output(name=n, payload=v) for n, v in zip(self._outputs, result)])
