// Pipeline schedules on paper: for P = 1..8 and M = 1..32, GPipe and 1F1B validate, take
// (M + P − 1)(t_f + t_b) on uniform stages, and hold M (GPipe) or min(P − s, M) (1F1B)
// micro-batches' activations at stage s; broken lists are refused naming what is wrong.
#include "comm/pipeline/schedule.h"

#include "comm/pipeline/simulator.h"
#include "gtest/gtest.h"

namespace ty::pipeline {
namespace {

TEST(PipelineSchedule, EveryShapeValidatesAndTakesTheFormulaTime) {
  for (ScheduleKind kind : {ScheduleKind::kGPipe, ScheduleKind::kOneFOneB})
    for (int p = 1; p <= 8; ++p)
      for (int m = 1; m <= 32; ++m) {
        SCOPED_TRACE(absl::StrCat(name_of(kind), " P=", p, " M=", m));
        const Schedule sc = build_schedule(kind, p, m);
        ASSERT_TRUE(validate(sc).ok()) << validate(sc);
        // Powers of two: every sum is exact in a double.
        const double tf = 0.25, tb = 0.5;
        absl::StatusOr<Simulation> sim = simulate(sc, std::vector<double>(p, tf), std::vector<double>(p, tb));
        ASSERT_TRUE(sim.ok()) << sim.status();
        EXPECT_EQ(sim->step_time, (m + p - 1) * (tf + tb));
        EXPECT_DOUBLE_EQ(sim->bubble_fraction, static_cast<double>(p - 1) / (m + p - 1));
        for (int s = 0; s < p; ++s) {
          EXPECT_EQ(sim->busy[s], m * (tf + tb));
          EXPECT_EQ(sim->peak_live[s], kind == ScheduleKind::kGPipe ? m : std::min(p - s, m)) << "stage " << s;
        }
      }
}

TEST(PipelineSchedule, OneFOneBAlternatesAfterItsWarmUp) {
  const Schedule sc = build_schedule(ScheduleKind::kOneFOneB, 4, 6);
  // Stage 1 of 4: two warm-up forwards, then one forward and one backward at a time.
  std::vector<std::string> got;
  for (const Action& a : sc.actions[1])
    if (a.kind == ActionKind::kForward || a.kind == ActionKind::kBackward) got.push_back(describe(a));
  EXPECT_EQ(got, (std::vector<std::string>{"forward mb 0", "forward mb 1", "forward mb 2", "backward mb 0",
                                           "forward mb 3", "backward mb 1", "forward mb 4", "backward mb 2",
                                           "forward mb 5", "backward mb 3", "backward mb 4", "backward mb 5"}));
  // The last stage: one forward, one backward, from the start.
  EXPECT_EQ(describe(sc.actions[3][0]), "receive activation mb 0");
  EXPECT_EQ(describe(sc.actions[3][1]), "forward mb 0");
  EXPECT_EQ(describe(sc.actions[3][2]), "backward mb 0");
  EXPECT_EQ(describe(sc.actions[3][3]), "send gradient mb 0");
}

TEST(PipelineSchedule, UnevenStagesAndTransfersAreSimulated) {
  // The slowest stage sets the pace: 1F1B on P = 2, the second stage twice as slow.
  const Schedule sc = build_schedule(ScheduleKind::kOneFOneB, 2, 4);
  absl::StatusOr<Simulation> sim = simulate(sc, {1, 2}, {2, 4}, 0.5);
  ASSERT_TRUE(sim.ok()) << sim.status();
  // Stage 1 runs forward and backward of one micro-batch (6) at a time, four times. Between
  // two of them its queue sends a gradient back and then receives the next activation, one
  // transfer after the other (0.5 + 0.5): 1.5 + 4 × 6 + 3 × 1 = 28.5, and the last gradient
  // reaches stage 0 at 29, whose backward ends at 31.
  EXPECT_EQ(sim->step_time, 31);
  EXPECT_EQ(sim->busy[0], 12);
  EXPECT_EQ(sim->busy[1], 24);
}

Schedule broken(const std::function<void(Schedule&)>& edit) {
  Schedule sc = build_schedule(ScheduleKind::kGPipe, 2, 2);
  edit(sc);
  return sc;
}

void expect_refused(const Schedule& sc, const std::string& want) {
  const absl::Status st = validate(sc);
  ASSERT_FALSE(st.ok()) << "want: " << want;
  EXPECT_NE(st.message().find(want), std::string::npos) << st;
}

TEST(PipelineSchedule, BrokenListsAreRefusedNamingStageActionAndMicroBatch) {
  expect_refused(broken([](Schedule& s) { s.actions[0].push_back({ActionKind::kForward, 1}); }),
                 "stage 0 of 2: forward mb 1: forwarded twice");
  expect_refused(broken([](Schedule& s) {
                   auto& a = s.actions[1];
                   a.erase(std::find(a.begin(), a.end(), Action{ActionKind::kBackward, 0}));
                 }),
                 "stage 1 of 2: send gradient mb 0: sent before its backward");
  expect_refused(broken([](Schedule& s) { s.actions[0].insert(s.actions[0].begin(), {ActionKind::kBackward, 1}); }),
                 "backward mb 1: backward before its forward");
  expect_refused(broken([](Schedule& s) { s.actions[1].push_back({ActionKind::kSendActivation, 0}); }),
                 "stage 1 of 2: send activation mb 0: the last stage has no next stage");
  expect_refused(broken([](Schedule& s) {
                   auto& a = s.actions[1];
                   a.erase(std::find(a.begin(), a.end(), Action{ActionKind::kRecvActivation, 1}));
                 }),
                 "stage 1 of 2: forward mb 1: forward before its activation is received");
  expect_refused(broken([](Schedule& s) {
                   auto& a = s.actions[0];
                   a.erase(std::find(a.begin(), a.end(), Action{ActionKind::kSendActivation, 1}));
                 }),
                 "stage 0 of 2: micro-batch 1 is never sent on as an activation");
  expect_refused(broken([](Schedule& s) {
                   auto& a = s.actions[0];
                   std::swap(a[0], a[1]);  // the send ahead of the forward that makes it
                 }),
                 "stage 0 of 2: send activation mb 0: sent before its forward");
  expect_refused(broken([](Schedule& s) {
                   auto& a = s.actions[1];
                   a.insert(a.begin(), Action{ActionKind::kRecvActivation, 0});
                 }),
                 "stage 1 of 2: receive activation mb 0: received twice");
  // A gradient the first stage waits for and the second never sends back.
  expect_refused(broken([](Schedule& s) {
                   auto& b = s.actions[1];
                   b.erase(std::find(b.begin(), b.end(), Action{ActionKind::kSendGradient, 1}));
                 }),
                 "stage 1 of 2: micro-batch 1 is never sent back as a gradient");
  EXPECT_FALSE(validate(build_schedule(ScheduleKind::kGPipe, 0, 4)).ok());
  EXPECT_FALSE(simulate(build_schedule(ScheduleKind::kGPipe, 0, 4), {}, {}).ok());
  expect_refused(broken([](Schedule& s) { s.actions[0].push_back({ActionKind::kForward, 7}); }),
                 "forward mb 7: no such micro-batch (M = 2)");
}

TEST(PipelineSchedule, ListsThatWaitOnEachOtherCannotFinishAndSaySo) {
  // Valid counts, but stage 0 waits for a gradient before it sends the activation that
  // stage 1 needs to produce it.
  Schedule sc = build_schedule(ScheduleKind::kGPipe, 2, 1);
  sc.actions[0] = {{ActionKind::kForward, 0}, {ActionKind::kRecvGradient, 0}, {ActionKind::kSendActivation, 0},
                   {ActionKind::kBackward, 0}};
  ASSERT_TRUE(validate(sc).ok());
  absl::StatusOr<Simulation> sim = simulate(sc, {1, 1}, {1, 1});
  ASSERT_FALSE(sim.ok());
  EXPECT_NE(sim.status().message().find("stage 0 at receive gradient mb 0, stage 1 at receive activation mb 0"),
            std::string::npos)
      << sim.status();
}

TEST(PipelineSchedule, TransfersPostedInAnotherOrderThanTheNeighboursCannotFinish) {
  // 1F1B with the steady state's send of activation 1 ahead of the receive of gradient 0:
  // stage 0 then sends while stage 1 sends too, and a send waits for its receive.
  Schedule sc = build_schedule(ScheduleKind::kOneFOneB, 2, 2);
  auto& a = sc.actions[0];
  auto recv = std::find(a.begin(), a.end(), Action{ActionKind::kRecvGradient, 0});
  auto send = std::find(a.begin(), a.end(), Action{ActionKind::kSendActivation, 1});
  ASSERT_TRUE(recv < send);
  std::iter_swap(recv, send);
  ASSERT_TRUE(validate(sc).ok());
  absl::StatusOr<Simulation> sim = simulate(sc, {1, 1}, {1, 1});
  ASSERT_FALSE(sim.ok());
  EXPECT_NE(sim.status().message().find("stage 0 at send activation mb 1, stage 1 at send gradient mb 0"),
            std::string::npos)
      << sim.status();
}

}  // namespace
}  // namespace ty::pipeline
