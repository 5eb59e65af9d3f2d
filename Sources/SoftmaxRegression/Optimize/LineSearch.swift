/// A line search for a step α along a descent direction d that satisfies the strong Wolfe
/// conditions, for φ(α) = f(x + α d):
///
///     φ(α) ≤ φ(0) + c₁ α φ'(0)          (sufficient decrease, c₁ = 1e-4)
///     |φ'(α)| ≤ c₂ |φ'(0)|              (curvature, c₂ = 0.9)
///
/// Bracketing then zoom, as in Nocedal & Wright, *Numerical Optimization*, Algorithms 3.5
/// and 3.6, with safeguarded cubic interpolation. Every trial is one evaluation of f and
/// ∇f (one pass over the data). On success the trial buffers hold x + αd and its
/// gradient: the accepted trial is always the last one evaluated.
struct StrongWolfeLineSearch {
  var sufficientDecrease = 1e-4
  var curvature = 0.9
  var maximumEvaluations = 20
  var maximumStep = 1e10

  struct Outcome {
    /// The accepted step, or nil when none was found.
    var step: Double?
    /// The evaluation at the accepted step (nil when none was found).
    var evaluation: Evaluation?
    var evaluations: Int
  }

  /// A point on the line: α, φ(α), φ'(α), and the evaluation that gave φ(α).
  private struct Sample {
    var step: Double
    var value: Double
    var slope: Double
    var evaluation: Evaluation? = nil
  }

  /// Searches from `x` (where f = `value`, ∇f = `gradient`) along `direction`, starting at
  /// `initialStep`. Writes each trial into `trial` / `trialGradient`.
  func search(
    _ function: any DifferentiableFunction, from x: [Double], value: Double, gradient: [Double],
    direction: [Double], initialStep: Double, trial: inout [Double], trialGradient: inout [Double]
  ) -> Outcome {
    let origin = Sample(step: 0, value: value, slope: VectorOperations.dot(gradient, direction))
    // Not a descent direction (for example ∇f so small that ∇f·d underflows to 0): no step.
    guard origin.slope < 0 else { return Outcome(step: nil, evaluation: nil, evaluations: 0) }
    var evaluations = 0

    func sample(_ step: Double) -> Sample {
      VectorOperations.step(from: x, along: direction, by: step, into: &trial)
      let evaluation = evaluate(function, trial, &trialGradient)
      evaluations += 1
      let slope = VectorOperations.dot(trialGradient, direction)
      guard evaluation.value.isFinite && slope.isFinite else {
        return Sample(step: step, value: .infinity, slope: .nan)
      }
      return Sample(step: step, value: evaluation.value, slope: slope, evaluation: evaluation)
    }
    func decreasesEnough(_ point: Sample) -> Bool {
      point.value <= origin.value + sufficientDecrease * point.step * origin.slope
    }
    func curvatureHolds(_ point: Sample) -> Bool {
      point.slope.isFinite && abs(point.slope) <= -curvature * origin.slope
    }
    func accept(_ point: Sample) -> Outcome {
      Outcome(step: point.step, evaluation: point.evaluation, evaluations: evaluations)
    }
    func zoom(_ low: Sample, _ high: Sample) -> Outcome {
      var low = low
      var high = high
      while evaluations < maximumEvaluations {
        let point = sample(interpolate(low, high))
        if !decreasesEnough(point) || point.value >= low.value {
          high = point
        } else {
          if curvatureHolds(point) {
            return accept(point)
          }
          if point.slope * (high.step - low.step) >= 0 { high = low }
          low = point
        }
        if abs(high.step - low.step) <= 1e-12 * max(1, low.step) { break }
      }
      return Outcome(step: nil, evaluation: nil, evaluations: evaluations)
    }

    var previous = origin
    var step = min(initialStep, maximumStep)
    while evaluations < maximumEvaluations {
      let point = sample(step)
      if !decreasesEnough(point) || (evaluations > 1 && point.value >= previous.value) {
        return zoom(previous, point)
      }
      if curvatureHolds(point) {
        return accept(point)
      }
      if point.slope >= 0 { return zoom(point, previous) }
      previous = point
      step = min(2 * step, maximumStep)
    }
    return Outcome(step: nil, evaluation: nil, evaluations: evaluations)
  }

  /// The minimiser of the cubic through two samples, kept inside the middle 80% of the
  /// interval; bisection when the cubic has no usable minimum (or a sample is not finite).
  private func interpolate(_ a: Sample, _ b: Sample) -> Double {
    let low = min(a.step, b.step)
    let high = max(a.step, b.step)
    let margin = 0.1 * (high - low)
    let midpoint = 0.5 * (low + high)
    guard a.value.isFinite, b.value.isFinite, a.slope.isFinite, b.slope.isFinite else {
      return midpoint
    }
    let d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.step - b.step)
    let discriminant = d1 * d1 - a.slope * b.slope
    guard discriminant >= 0 else { return midpoint }
    let d2 = (b.step > a.step ? 1.0 : -1.0) * discriminant.squareRoot()
    let denominator = b.slope - a.slope + 2 * d2
    guard denominator != 0 else { return midpoint }
    let candidate = b.step - (b.step - a.step) * (b.slope + d2 - d1) / denominator
    guard candidate.isFinite else { return midpoint }
    return min(max(candidate, low + margin), high - margin)
  }
}
