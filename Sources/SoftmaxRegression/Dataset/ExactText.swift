/// A string compared and hashed by its Unicode scalars, not by canonical equivalence.
///
/// Swift's `String ==` merges canonically equivalent spellings (`café` precomposed and
/// decomposed); class names and levels read from data are distinct when their text differs
/// in any scalar, as in pandas and scikit-learn, so a class is never merged with another
/// behind the user's back.
struct ExactText: Hashable {
  let string: String

  init(_ string: String) { self.string = string }

  static func == (lhs: ExactText, rhs: ExactText) -> Bool {
    lhs.string.unicodeScalars.elementsEqual(rhs.string.unicodeScalars)
  }

  func hash(into hasher: inout Hasher) {
    for scalar in string.unicodeScalars { hasher.combine(scalar.value) }
    hasher.combine(0xFFFF_FFFF as UInt32)
  }

  /// Unicode scalar order: the order of Python's `sorted` on the same names.
  static func precedes(_ lhs: String, _ rhs: String) -> Bool {
    lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars)
  }

  /// Whether `names` holds some name twice (scalar by scalar).
  static func hasRepeats(_ names: [String]) -> Bool {
    Set(names.map(ExactText.init)).count != names.count
  }
}
