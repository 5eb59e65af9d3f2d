import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Training options, declared once")
struct TrainingOptionTests {
  @Test("every declared option's help line in 'softmax train --help' shows its rule and the library's default")
  func helpComesFromDeclarations() throws {
    let help = try SoftmaxTool.run(["train", "--help"]).stdout
    for option in TrainingOptions.declared {
      let line = try #require(help.split(separator: "\n").first { $0.contains("--\(option.name) ") }, "--\(option.name)")
      #expect(line.contains("(default: \(option.defaultText))"), "\(line)")
      #expect(option.defaultText == (option.value(in: TrainingOptions()) ?? "none"))
    }
    #expect(help.contains("--lambda X") && help.contains("(default: 0.0001)"))
  }

  @Test("values that break a rule are refused by the library, naming the option, not a flag",
    arguments: [
      ("lambda", "-1"), ("lambda", "nan"), ("lambda", "1e400"), ("tolerance", "0"), ("max-epochs", "-1"),
      ("max-epochs", "9223372036854775807"), ("memory", "0"), ("memory", "1001"), ("momentum", "1"),
      ("validation", "1"), ("threads", "0"), ("threads", "100000"), ("solver", "newton?"), ("seed", "-3"),
      ("batch-size", "0x10"),
    ])
  func rulesAreEnforced(name: String, text: String) throws {
    let option = try #require(TrainingOptions.declared.first { $0.name == name })
    var options = TrainingOptions()
    #expect {
      try option.read(text, into: &options)
    } throws: { error in
      guard let error = error as? TrainingError, case .invalidOption(let named, let value, _) = error else { return false }
      return named == name && value == text && !error.description.contains("--")
    }
  }

  @Test("validate() checks options set directly in the library, and the rules that tie them together")
  func validateChecksLibraryValues() {
    var options = TrainingOptions()
    options.threadCount = Int.max
    #expect(throws: TrainingError.self) { try options.validate() }
    options = TrainingOptions()
    options.earlyStoppingPatience = 2
    #expect { try options.validate() } throws: { ($0 as? TrainingError)?.description.contains("`validation`") == true }
    options.validationFraction = 0.2
    #expect((try? options.validate()) != nil)
  }

  @Test("a value read through its declaration lands in the option")
  func readSetsTheOption() throws {
    var options = TrainingOptions()
    for (name, text) in [("lambda", "0.25"), ("max-epochs", "7"), ("solver", "sgd"), ("validation", "0.3"), ("seed", "42")] {
      try #require(TrainingOptions.declared.first { $0.name == name }).read(text, into: &options)
    }
    #expect(options.lambda == 0.25 && options.maxEpochs == 7 && options.solver == .sgd)
    #expect(options.validationFraction == 0.3 && options.seed == 42)
  }
}
