import Foundation

/// Finds a key that appears twice in one JSON object. JSONDecoder keeps one of the two
/// silently; a model file with two "weights" is damaged or forged, not a model.
enum JSONDuplicateKeys {
  /// The first key repeated within one object of `data` (well-formed JSON), or nil.
  /// Keys are compared after unescaping ("a" and "\u0061" are the same key). Cost: O(bytes).
  static func first(in data: Data) -> String? {
    let bytes = [UInt8](data)
    var objects: [Set<String>?] = []  // nil for an array
    var expectingKey = false
    var index = 0
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "{"):
        objects.append([])
        expectingKey = true
      case UInt8(ascii: "["):
        objects.append(nil)
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        _ = objects.popLast()
        expectingKey = false
      case UInt8(ascii: ","):
        expectingKey = objects.last.map { $0 != nil } ?? false
      case UInt8(ascii: "\""):
        let start = index
        index += 1
        while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
          index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        if expectingKey, var keys = objects.last ?? nil {
          let token = Data(bytes[start...min(index, bytes.count - 1)])
          let key = (try? JSONDecoder().decode(String.self, from: token)) ?? String(decoding: token, as: UTF8.self)
          if keys.contains(key) { return key }
          keys.insert(key)
          objects[objects.count - 1] = keys
          expectingKey = false
        }
      default:
        break
      }
      index += 1
    }
    return nil
  }
}
