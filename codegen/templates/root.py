# Template of what follows the user's own model in the root's component file, whose code is
# kept as it is (codegen/emit.py: root_file). Placeholders:
#   __model_alias__  `Model = <class>` (statements.py: model_alias) when the class has another
#                    name, else nothing
#   __shapes__       the expected output shapes, in return order
#   __allow_inf__    True where infinities are a correct output
#   __run_tests__    run_tests() and the main guard (run_tests.py)
__model_alias__


def get_expected_output_shape():
    return __shapes__


ALLOW_INF = __allow_inf__


__run_tests__
