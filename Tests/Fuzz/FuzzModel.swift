// libFuzzer target: bytes as a model file. It must load or throw ModelError, never trap; a
// model that loads must save and load back to the same bytes.
#if canImport(Glibc)
  import Glibc
#endif
import Foundation

func fuzzModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  guard let model = try? SoftmaxModel(fileData: bytes, name: "fuzz.json") else { return 0 }
  guard let saved = try? model.fileBytes(), let again = try? SoftmaxModel(fileData: Data(saved)),
    (try? again.fileBytes()) == saved
  else {
    print("a loaded model did not round-trip")
    abort()
  }
  return 0
}
