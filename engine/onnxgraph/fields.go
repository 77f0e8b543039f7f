package onnxgraph

// Field numbers of the ONNX protobuf messages (onnx.proto) that the rewrites read or write,
// by message. They are the file format: they never change.
const (
	modelGraph     = 7  // ModelProto.graph
	modelFunctions = 25 // ModelProto.functions

	graphNode              = 1  // GraphProto.node
	graphInitializer       = 5  // GraphProto.initializer (TensorProto)
	graphInput             = 11 // GraphProto.input (ValueInfoProto)
	graphOutput            = 12 // GraphProto.output (ValueInfoProto)
	graphValueInfo         = 13 // GraphProto.value_info
	graphSparseInitializer = 15 // GraphProto.sparse_initializer (SparseTensorProto)

	nodeInput     = 1 // NodeProto.input
	nodeOutput    = 2 // NodeProto.output
	nodeName      = 3 // NodeProto.name
	nodeOpType    = 4 // NodeProto.op_type
	nodeAttribute = 5 // NodeProto.attribute
	nodeDomain    = 7 // NodeProto.domain

	attrName   = 1  // AttributeProto.name
	attrI      = 3  // AttributeProto.i
	attrT      = 5  // AttributeProto.t
	attrG      = 6  // AttributeProto.g
	attrTensor = 10 // AttributeProto.tensors
	attrGraphs = 11 // AttributeProto.graphs

	tensorDims         = 1  // TensorProto.dims
	tensorDataType     = 2  // TensorProto.data_type
	tensorFloatData    = 4  // TensorProto.float_data (packed float)
	tensorInt32Data    = 5  // TensorProto.int32_data (packed varint; float16 bits live here)
	tensorInt64Data    = 7  // TensorProto.int64_data
	tensorName         = 8  // TensorProto.name
	tensorRawData      = 9  // TensorProto.raw_data
	tensorDataLocation = 14 // TensorProto.data_location (1: external)

	sparseTensorVals = 1 // SparseTensorProto.values (TensorProto, which carries the name)

	valueInfoName = 1 // ValueInfoProto.name
	valueInfoType = 2 // ValueInfoProto.type

	typeTensor   = 1 // TypeProto.tensor_type
	typeSequence = 4 // TypeProto.sequence_type
	typeSparse   = 8 // TypeProto.sparse_tensor_type
	typeOptional = 9 // TypeProto.optional_type
	elemType     = 1 // TypeProto.Tensor.elem_type, SparseTensor.elem_type, Sequence.elem_type, Optional.elem_type
)

// ONNX element types (TensorProto.DataType) that the rewrites read or write.
const (
	onnxFloat   = 1
	onnxUint8   = 2
	onnxInt64   = 7
	onnxFloat16 = 10
)
