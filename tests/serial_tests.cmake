# Tests that time real runs: alone on the machine (ctest -j2 would share its 2 cores).
set_tests_properties(PipelineBubble.SleepingStagesTakeTheSimulatedStepTimeAndBubble PROPERTIES RUN_SERIAL TRUE)
