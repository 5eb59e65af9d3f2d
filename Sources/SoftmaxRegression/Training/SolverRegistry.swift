/// Which `Minimizer` each `TrainingOptions.Solver` runs, configured from the options.
///
/// Adding a solver: a `Minimizer` in `Optimize/`, a case in `TrainingOptions.Solver`, and one
/// entry here. The trainer knows nothing of individual solvers beyond what an entry says.
enum SolverRegistry {
  /// The entry for `solver`.
  static func entry(for solver: TrainingOptions.Solver) -> SolverEntry {
    switch solver {
    case .auto:
      return SolverEntry(finishesInDouble: true) { options, maxEpochs, objective, start, observe in
        AutoSolver(
          lbfgs: LBFGS(
            memory: options.memory, tolerance: options.tolerance,
            objectiveTolerance: options.objectiveTolerance, maxEpochs: maxEpochs),
          newton: TrustRegionNewton(tolerance: options.tolerance, maxEpochs: maxEpochs)
        ).minimize(objective, from: start, observe: observe)
      }
    case .owlqn:
      return SolverEntry(finishesInDouble: true) { options, maxEpochs in
        OrthantWiseLBFGS(
          memory: options.memory, tolerance: options.tolerance,
          objectiveTolerance: options.objectiveTolerance, maxEpochs: maxEpochs)
      }
    case .lbfgs:
      return SolverEntry(finishesInDouble: true) { options, maxEpochs in
        LBFGS(
          memory: options.memory, tolerance: options.tolerance,
          objectiveTolerance: options.objectiveTolerance, maxEpochs: maxEpochs)
      }
    case .gd:
      return SolverEntry(finishesInDouble: true) { options, maxEpochs in
        GradientDescent(
          learningRate: options.learningRate, tolerance: options.tolerance, maxEpochs: maxEpochs)
      }
    case .sgd:
      return SolverEntry(finishesInDouble: false) { options, maxEpochs in
        StochasticGradientDescent(
          batchSize: options.batchSize,
          learningRate: options.learningRate ?? TrainingOptions.defaultSGDLearningRate,
          decay: options.decay, momentum: options.momentum, tolerance: options.tolerance,
          maxEpochs: maxEpochs, seed: options.seed)
      }
    case .newton:
      return SolverEntry(finishesInDouble: true) { options, maxEpochs in
        TrustRegionNewton(tolerance: options.tolerance, maxEpochs: maxEpochs)
      }
    }
  }
}

/// How the trainer runs one solver: a minimizer built from the options, and whether a run
/// that stalls in Float32 before the tolerance continues with the Double kernel.
struct SolverEntry {
  /// Whether a stall in Float32 (line search failed, objective converged) above the
  /// tolerance is finished with the Double kernel. False for stochastic solvers, whose
  /// stalls are not a precision limit.
  let finishesInDouble: Bool
  /// Runs the configured minimizer on the training objective.
  let run:
    (
      _ options: TrainingOptions, _ maxEpochs: Int, _ objective: SoftmaxObjective,
      _ start: [Double], _ observe: (OptimizationProgress) -> Bool
    ) -> OptimizationResult

  /// An entry that runs the objective itself.
  init(
    finishesInDouble: Bool,
    run: @escaping (
      _ options: TrainingOptions, _ maxEpochs: Int, _ objective: SoftmaxObjective,
      _ start: [Double], _ observe: (OptimizationProgress) -> Bool
    ) -> OptimizationResult
  ) {
    self.finishesInDouble = finishesInDouble
    self.run = run
  }

  /// An entry for a minimizer of differentiable functions.
  init<Solver: Minimizer>(
    finishesInDouble: Bool, make: @escaping (TrainingOptions, Int) -> Solver
  ) where Solver.Function == any DifferentiableFunction {
    self.finishesInDouble = finishesInDouble
    run = { options, maxEpochs, objective, start, observe in
      make(options, maxEpochs).minimize(objective, from: start, observe: observe)
    }
  }

  /// An entry for a minimizer of mini-batch functions.
  init<Solver: Minimizer>(
    finishesInDouble: Bool, make: @escaping (TrainingOptions, Int) -> Solver
  ) where Solver.Function == any MiniBatchFunction {
    self.finishesInDouble = finishesInDouble
    run = { options, maxEpochs, objective, start, observe in
      make(options, maxEpochs).minimize(objective, from: start, observe: observe)
    }
  }

  /// An entry for a minimizer that needs Hessian-vector products.
  init<Solver: Minimizer>(
    finishesInDouble: Bool, make: @escaping (TrainingOptions, Int) -> Solver
  ) where Solver.Function == any TwiceDifferentiableFunction {
    self.finishesInDouble = finishesInDouble
    run = { options, maxEpochs, objective, start, observe in
      make(options, maxEpochs).minimize(objective, from: start, observe: observe)
    }
  }
}
