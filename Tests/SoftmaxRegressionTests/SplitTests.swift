import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Stratified train/test split")
struct SplitTests {
  let temporary = TemporaryDirectory()

  func lines(_ path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
  }

  @Test("every row lands in exactly one file, in input order, round(f·n_k) of each class held out")
  func partitionsRows() throws {
    let training = temporary.path + "/train.csv", test = temporary.path + "/test.csv"
    var split = StratifiedSplit(testFraction: 0.3)
    split.seed = 7
    split.labelColumn = "species"
    let summary = try split.split(csvAt: dataFile("penguins.csv"), trainingOutput: training, testOutput: test)
    let input = try lines(dataFile("penguins.csv"))
    let (trainLines, testLines) = (try lines(training), try lines(test))
    #expect(trainLines.first == input.first && testLines.first == input.first)
    // Walking the input, each row must be the next row of one of the two files.
    var (nextTrain, nextTest) = (1, 1)
    var heldLabels: [String: Int] = [:], allLabels: [String: Int] = [:]
    let labelIndex = try #require(input[0].split(separator: ",").firstIndex(of: "species"))
    for row in input.dropFirst() {
      let label = String(row.split(separator: ",", omittingEmptySubsequences: false)[labelIndex])
      allLabels[label, default: 0] += 1
      if nextTest < testLines.count && testLines[nextTest] == row && !(nextTrain < trainLines.count && trainLines[nextTrain] == row) {
        nextTest += 1
        heldLabels[label, default: 0] += 1
      } else {
        #expect(nextTrain < trainLines.count && trainLines[nextTrain] == row, "row \(row) is in neither file in order")
        nextTrain += 1
      }
    }
    #expect(nextTrain == trainLines.count && nextTest == testLines.count)
    for (label, count) in allLabels {
      #expect(heldLabels[label, default: 0] == Int((Double(count) * 0.3).rounded()), "\(label)")
    }
    #expect(summary.classNames == allLabels.keys.sorted())
    #expect(summary.testCounts.reduce(0, +) == testLines.count - 1)
    #expect(summary.trainingCounts.reduce(0, +) == trainLines.count - 1)
  }

  @Test("holds out the rows training with the same validation fraction and seed holds out; the seed matters")
  func matchesValidationSplit() throws {
    // Iris upside down: classes first appear out of class order (virginica first).
    let iris = try lines(dataFile("iris.csv"))
    let input = [iris[0]] + iris.dropFirst().reversed()
    let path = temporary.path + "/reversed.csv"
    try (input.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    let training = temporary.path + "/train.csv", test = temporary.path + "/test.csv"
    var split = StratifiedSplit(testFraction: 0.25)
    split.seed = 11
    _ = try split.split(csvAt: path, trainingOutput: training, testOutput: test)
    let dataset = try Dataset(csvAt: path)
    let held = try ValidationSplit(labels: dataset.labels, classCount: dataset.classCount, fraction: 0.25, seed: 11)
    #expect(try lines(test) == [input[0]] + held.validation.map { input[Int($0) + 1] })
    let first = try Data(contentsOf: URL(fileURLWithPath: test))
    split.seed = 12
    _ = try split.split(csvAt: path, trainingOutput: training, testOutput: test)
    #expect(try Data(contentsOf: URL(fileURLWithPath: test)) != first)
  }

  @Test("rows are copied byte for byte: quoted line breaks, CRLF, a last row without a line break")
  func copiesBytes() throws {
    let path = temporary.path + "/q.csv"
    let rows = ["\"x\ny\",1,a\r\n", "plain,2,b\r\n", "\"q\"\"uote\",3,a\r\n", "z,4,b\r\n", "w,5,a\r\n", "v,6,b"]
    try ("name,n,label\r\n" + rows.joined()).write(toFile: path, atomically: true, encoding: .utf8)
    let training = temporary.path + "/t.csv", test = temporary.path + "/s.csv"
    _ = try StratifiedSplit(testFraction: 0.4).split(csvAt: path, trainingOutput: training, testOutput: test)
    let written = try String(contentsOfFile: training, encoding: .utf8) + String(contentsOfFile: test, encoding: .utf8)
    for row in rows.dropLast() { #expect(written.contains(row), "\(row.debugDescription)") }
    #expect(written.contains("v,6,b\n"))
    #expect(written.components(separatedBy: "name,n,label\r\n").count == 3)
  }

  @Test("bad input names the file and line, and neither output is written")
  func errorsWriteNothing() throws {
    let path = temporary.path + "/bad.csv"
    try "a,b,label\n1,2,x\n3,4,y\n5,6\n7,8,x\n".write(toFile: path, atomically: true, encoding: .utf8)
    let training = temporary.path + "/t.csv", test = temporary.path + "/s.csv"
    #expect {
      try StratifiedSplit(testFraction: 0.5).split(csvAt: path, trainingOutput: training, testOutput: test)
    } throws: { error in
      guard case StratifiedSplit.Failure.data(let data) = error else { return false }
      return data.file == path && data.line == 4
    }
    #expect(!FileManager.default.fileExists(atPath: training) && !FileManager.default.fileExists(atPath: test))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty)
    // A fraction that holds out nothing is refused.
    #expect {
      try StratifiedSplit(testFraction: 0.005).split(csvAt: dataFile("iris.csv"), trainingOutput: training, testOutput: test)
    } throws: { error in
      guard case StratifiedSplit.Failure.unusableFraction = error else { return false }
      return true
    }
  }

  @Test("softmax split writes NAME-train.csv and NAME-test.csv and says how many rows went where")
  func command() throws {
    let run = try SoftmaxTool.run(["split", dataFile("iris.csv"), "--test", "0.2", "--seed", "3"], in: temporary.path)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stderr.contains("120 training rows → iris-train.csv, 30 test rows → iris-test.csv"), "\(run.stderr)")
    #expect(try lines(temporary.path + "/iris-test.csv").count == 31)
    let missing = try SoftmaxTool.run(["split", dataFile("iris.csv"), "--seed", "3"], in: temporary.path)
    #expect(missing.status == 2 && missing.stderr.contains("--test is required"))
  }
}
